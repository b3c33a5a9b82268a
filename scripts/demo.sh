#!/usr/bin/env bash
# A demo on a real directory: build, init a repository, back up
# /usr/share/doc, change nothing and back up again, list, mount, look
# inside, restore a file, unmount. Leaves nothing mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
cargo build --release -q
work=$(mktemp -d /tmp/strata-demo.XXXXXX)
mnt="$work/mnt"
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
export STRATA_REPOSITORY="$work/repo" STRATA_PASSWORD=demo-password
src=${1:-/usr/share/doc}
set -x
"$STRATA" init --kdf-memory 65536
"$STRATA" backup "$src"
"$STRATA" backup "$src"
"$STRATA" snapshots
"$STRATA" ls latest "$src" | sed -n 1,5p
mkdir -p "$mnt"
"$STRATA" mount --daemon "$mnt"
ls "$mnt" "$mnt/snapshots"
ls -l "$mnt/latest$src" | sed -n 1,5p
du -sh "$mnt/latest$src"
ls "$mnt/history$src" | sed -n 1,5p   # its versions (one: nothing changed), then its names
diff -r --no-dereference "$src" "$mnt/latest$src" && echo "mounted snapshot matches the source"
fusermount3 -u "$mnt"
"$STRATA" restore "latest:$src" "$work/restored"
diff -r --no-dereference "$src" "$work/restored" && echo "restored copy matches the source"
set +x
echo "demo repository left in $work (rm -rf it when done)"
