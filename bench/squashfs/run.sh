#!/usr/bin/env bash
# SquashFS benchmark (issue 17): building an image's SquashFS, and reading files through its FUSE mount.
#
# Images (BENCH_SIZES, default all three): the Debian 12 minbase rootfs with Open MPI (the base layer of the tests'
# `fixtures/debian-mpi:12`, ~200 MB, ~7,100 entries) imported as a one-layer image, gzip-compressed (`mpi`) and
# plain (`mpi-tar`: the same tree, so the same SquashFS; built only, to show what gzip costs), and the gzip layer
# with 768 MiB of incompressible files appended (`mpi-1g`, ~1 GB).
# Build, the inputs in the page cache, each timed command after `sync`:
#   ours        `udocker-launch publish IMAGE --format=squashfs`: the SquashFS straight from the layer (it also
#               fsyncs the file and takes its sha256 with libcrypto, timed alone as `sha256`: `openssl dgst`)
#   pair        `tar -xpf LAYER` into an empty directory, then mksquashfs of that tree (timed in its two parts)
#   mksquashfs  mksquashfs alone, of the tree `udocker create` extracted
#   mksquashfs runs with our builder's settings (SquashWriter): zstd level 3, 128 KiB blocks, as many compressor
#   threads as our builder (min(8, nproc)), owners root, no xattrs, no export table; then `sync FILE`, since our
#   build fsyncs its file before naming it.
# File access, as the unprivileged user, the image's own bash and find: `find / -xdev -ls` (walk) and
# `find / -xdev -type f -exec cat {} +` (read), inside the FUSE mount (squash-mount-probe: the U1 namespace whose
# keeper serves the published image with libsquashfuse_ll) and inside the tree `udocker create` extracted
# (`unshare -r chroot`), each run twice in one namespace: cold (page, dentry and inode caches dropped just before)
# and warm (right after).
# Timed inside the container, so the namespace's and the mount's set-up are not counted.
# Rounds: one untimed, then BENCH_REPS (default 5) timed rounds of every cell, each starting three cells further on;
# medians. Also checked: every build of an image gives the same sha256, and `unsquashfs -lln` of ours lists what
# `udocker create` extracts (path, type, mode, size but for directories, link target).
#
# Usage (as root): bench/squashfs/run.sh [OUT]   (default bench/squashfs/results)
# BENCH_OTHER_PROBE=FILE: a second squash-mount-probe (e.g. built with a changed FUSE server in Sources/CSquashfuse),
# measured beside this tree's in the same rounds as `other` (BENCH_OTHER_LABEL names it in the table and the plot).
# Needs the packages of `make deps` (mmdebstrap unless the tests cached the rootfs, libsquashfuse0, libfuse3-3),
# squashfs-tools and gnuplot (installed here when missing). /dev/fuse is made 0666 while it runs (as Debian's udev
# rule makes it) and put back at the end.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "run it as root: it drops the page cache and sets /dev/fuse's mode" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/bench/squashfs/results}")
REPS=${BENCH_REPS:-5}
read -r -a SIZES <<< "${BENCH_SIZES:-mpi mpi-tar mpi-1g}"
mkdir -p "$OUT"
missing=()
for tool in gnuplot:gnuplot-nox mksquashfs:squashfs-tools mmdebstrap:mmdebstrap; do
    command -v "${tool%:*}" > /dev/null || missing+=("${tool#*:}")
done
[ ${#missing[@]} = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
start_bench "$ROOT" squashfs "$0"

echo "== udocker-launch and squash-mount-probe (release, as make build links them)" >&2
flags=$(make -s -C "$ROOT" --no-print-directory --eval 'print-product-flags: ; @echo $(PRODUCT_FLAGS)' print-product-flags)
# shellcheck disable=SC2086
(cd "$ROOT" && swift build -c release $flags --product squash-mount-probe >&2)
install -m 0755 "$ROOT/.build/release/udocker-launch" "$ROOT/.build/release/squash-mount-probe" "$WORK/"
OTHER=${BENCH_OTHER_PROBE:-}
OTHER_LABEL=${BENCH_OTHER_LABEL:-other server}
[ -z "$OTHER" ] || install -m 0755 "$OTHER" "$WORK/squash-mount-probe-other"

id udbench > /dev/null 2>&1 || useradd -m udbench
BENCH_UID=$(id -u udbench)
BENCH_GID=$(id -g udbench)
as_user() {  # the command as udbench, in a clean environment; setpriv, not runuser: no PAM session per run
    setpriv --reuid="$BENCH_UID" --regid="$BENCH_GID" --clear-groups \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK/home" UDOCKER_DIR="$WORK/repo" TMPDIR="$WORK/tmp" "$@"
}
quiet() { "$@" > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; echo "failed: $*" >&2; exit 1; }; }
FUSE_MODE=$(stat -c %a /dev/fuse)
trap 'chmod "$FUSE_MODE" /dev/fuse; rm -rf "$WORK"' EXIT
chmod 0666 /dev/fuse
echo "== /dev/fuse made 0666 for the benchmark (it was $FUSE_MODE); restored at exit" >&2
mkdir -p "$WORK/home" "$WORK/tmp"
chown udbench: "$WORK" "$WORK/home" "$WORK/tmp"

echo "== the images" >&2
cached=$(ls -t /var/cache/udocker-swift-tests/bookworm-minbase+libopenmpi3+openmpi-bin-*.tar 2>/dev/null | grep -v partial | head -n1 || true)
if [ -n "$cached" ]; then
    cp "$cached" "$WORK/rootfs.tar"
else  # as DebianRootfs makes it for the tests
    mmdebstrap --quiet --variant=minbase --include=libopenmpi3,openmpi-bin \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' bookworm "$WORK/rootfs.tar"
fi
# Device nodes have no place in an image (the fixture drops them too).
tar --delete --wildcards -f "$WORK/rootfs.tar" './dev/?*'
declare -A LAYER
for size in "${SIZES[@]}"; do
    case $size in
        mpi|mpi-tar) cp "$WORK/rootfs.tar" "$WORK/layer-$size.tar" ;;
        mpi-1g)
            cp "$WORK/rootfs.tar" "$WORK/layer-$size.tar"
            mkdir -p "$WORK/pad/opt/pad"
            for i in $(seq -w 1 24); do head -c 32M /dev/urandom > "$WORK/pad/opt/pad/random-$i"; done
            tar -rf "$WORK/layer-$size.tar" -C "$WORK/pad" --owner=0 --group=0 ./opt/pad
            rm -rf "$WORK/pad" ;;
        *) echo "unknown size $size (mpi, mpi-tar, mpi-1g)" >&2; exit 1 ;;
    esac
    [ "$size" = mpi-tar ] || gzip -n -6 "$WORK/layer-$size.tar"
    LAYER[$size]=$(ls "$WORK"/layer-"$size".tar*)
    chmod 644 "${LAYER[$size]}"
    as_user "$WORK/udocker" import "${LAYER[$size]}" "bench:$size" > /dev/null
    # The extracted tree (what `create` makes, and the launcher stages today) and the image the file-access
    # cells use, made once.
    id=$(as_user "$WORK/udocker" create "bench:$size" | tail -n1)
    ln -s "$WORK/repo/containers/$id/ROOT" "$WORK/access-tree-$size"
    as_user mkdir "$WORK/pub-$size"
    as_user "$WORK/udocker-launch" publish "bench:$size" --to "$WORK/pub-$size" --format=squashfs > /dev/null
    cp "$WORK"/pub-"$size"/*.sqfs "$WORK/access-$size.sqfs"
    chmod 644 "$WORK/access-$size.sqfs"
done
rm "$WORK/rootfs.tar"
as_user mkdir -m 700 "$WORK/image" "$WORK/mnt" "$WORK/ns"
THREADS=$(( $(nproc) < 8 ? $(nproc) : 8 ))
MKSQUASHFS_OPTIONS=(-noappend -comp zstd -Xcompression-level 3 -b 131072 -processors "$THREADS"
                    -all-root -no-xattrs -no-exports -quiet -no-progress)

# ---- the cells -------------------------------------------------------------------------------------------------
run_checked() {  # run_checked WHAT COMMAND...: stdout in WORK/out (/dev/null for file access), stderr in WORK/err
    local rc=0 out=$WORK/out
    case $1 in mount:*|other:*|tree:*) out=/dev/null ;; esac
    "${@:2}" > "$out" 2> "$WORK/err" || rc=$?
    [ "$rc" = 0 ] || { echo "$1 failed (exit $rc):" >&2; cat "$WORK/err" >&2; exit 1; }
}
KEYS=0
time_cell() {  # time_cell KIND:SIZE[:OP] → "CELL SECONDS" lines in WORK/times
    local kind size op t0 t1 t2 cell=$1
    IFS=: read -r kind size op <<< "$cell"
    case $kind in
        ours)
            rm -rf "$WORK/pub-$size"/*
            sync; t0=$EPOCHREALTIME
            run_checked "$cell" as_user "$WORK/udocker-launch" publish "bench:$size" --to "$WORK/pub-$size" --format=squashfs
            t1=$EPOCHREALTIME
            record_time "$cell" "$t0" "$t1"
            grep -o 'sha256:[0-9a-f]*' "$WORK/out" >> "$WORK/digests-$size" ;;
        pair)
            rm -rf "$WORK/tree-$size" "$WORK/mk-$size.sqfs"
            as_user mkdir "$WORK/tree-$size"
            sync; t0=$EPOCHREALTIME
            run_checked "$cell" as_user tar -xpf "${LAYER[$size]}" -C "$WORK/tree-$size"
            t1=$EPOCHREALTIME
            run_checked "$cell" as_user sh -c 'mksquashfs "$@" && sync "$2"' sh "$WORK/tree-$size" "$WORK/mk-$size.sqfs" "${MKSQUASHFS_OPTIONS[@]}"
            t2=$EPOCHREALTIME
            record_time "$cell" "$t0" "$t2"
            record_time "extract:$size" "$t0" "$t1"
            record_time "pair-mksquashfs:$size" "$t1" "$t2" ;;
        mksquashfs)
            rm -f "$WORK/mk-$size.sqfs"
            sync; t0=$EPOCHREALTIME
            run_checked "$cell" as_user sh -c 'mksquashfs "$@" && sync "$2"' sh "$WORK/access-tree-$size/" "$WORK/mk-$size.sqfs" "${MKSQUASHFS_OPTIONS[@]}"
            t1=$EPOCHREALTIME
            record_time "$cell" "$t0" "$t1" ;;
        sha256)
            sync; t0=$EPOCHREALTIME
            run_checked "$cell" as_user openssl dgst -sha256 "$WORK/access-$size.sqfs"
            t1=$EPOCHREALTIME
            record_time "$cell" "$t0" "$t1" ;;
        mount|other|tree)
            sync; echo 3 > /proc/sys/vm/drop_caches
            # What find and cat print goes to the host's /dev/null (neither root has one), the times to stderr.
            if [ "$kind" != tree ]; then
                KEYS=$((KEYS + 1))
                probe=$WORK/squash-mount-probe
                [ "$kind" = mount ] || probe=$WORK/squash-mount-probe-other
                run_checked "$cell" as_user "$probe" "$WORK/access-$size.sqfs" "$WORK/image" "$WORK/mnt" "$WORK/ns" "k$KEYS" \
                    -- /bin/bash -c "$INSIDE" bash "$op"
            else
                run_checked "$cell" as_user unshare --user --map-root-user chroot "$WORK/access-tree-$size/" \
                    /bin/bash -c "$INSIDE" bash "$op"
            fi
            read -r t0 t1 t2 < <(tail -n1 "$WORK/err")
            record_time "$cell:cold" "$t0" "$t1"
            record_time "$cell:warm" "$t1" "$t2" ;;
    esac
}
# What the image's bash runs in either root: OP ($1: walk or read) twice, then "T0 T1 T2" ($EPOCHREALTIME) on stderr.
INSIDE='op() { case $1 in walk) find / -xdev -ls ;; read) find / -xdev -type f -exec cat {} + ;; esac; }
t0=$EPOCHREALTIME; op "$1" || exit; t1=$EPOCHREALTIME; op "$1" || exit; t2=$EPOCHREALTIME; echo "$t0 $t1 $t2" >&2'

BUILD_CELLS=() ACCESS_CELLS=()
for size in "${SIZES[@]}"; do
    BUILD_CELLS+=("ours:$size" "pair:$size" "mksquashfs:$size" "sha256:$size")
    # mpi-tar's image is mpi's (the same tree), so it reads the same.
    [ "$size" = mpi-tar ] || for op in walk read; do
        ACCESS_CELLS+=("mount:$size:$op" "tree:$size:$op")
        [ -z "$OTHER" ] || ACCESS_CELLS+=("other:$size:$op")
    done
done
# Two phases: the file-access cells drop the page cache, which the build cells' inputs stay in.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
CELLS=("${BUILD_CELLS[@]}")
measure_rounds "$REPS"
mv "$WORK/times" "$WORK/times-build"
CELLS=("${ACCESS_CELLS[@]}")
measure_rounds "$REPS"
cat "$WORK/times-build" >> "$WORK/times"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- checks ------------------------------------------------------------------------------------------------------
# listing: "TYPE+MODE SIZE PATH[ -> TARGET]", directories' sizes as "-" (they differ between file systems).
squash_listing() {
    unsquashfs -lln "$1" | sed -E 's|^(\S+) \S+ +(\S+) \S+ \S+ squashfs-root(.*)$|\1 \2 \3|' |
        awk '{ if ($3 == "") $3 = "/"; if (substr($1, 1, 1) == "d") $2 = "-"; print }' | LC_ALL=C sort
}
tree_listing() {
    (cd "$1" && find . ! -type l -printf '%M %s /%P\n' && find . -type l -printf '%M %s /%P -> %l\n') |
        awk '{ if (substr($1, 1, 1) == "d") $2 = "-"; print }' | LC_ALL=C sort
}
CHECKS=()
for size in "${SIZES[@]}"; do
    digests=$(sort -u "$WORK/digests-$size" | wc -l)
    builds=$(wc -l < "$WORK/digests-$size")
    if [ "$digests" = 1 ]; then
        CHECKS+=("$size: $builds builds, one sha256 ($(head -n1 "$WORK/digests-$size"))")
    else
        CHECKS+=("$size: $builds builds gave $digests different sha256")
    fi
    squash_listing "$WORK/access-$size.sqfs" > "$WORK/list-squash"
    tree_listing "$WORK/access-tree-$size/" > "$WORK/list-tree"
    if diff "$WORK/list-squash" "$WORK/list-tree" > "$WORK/list-diff"; then
        CHECKS+=("$size: unsquashfs -lln lists the $(wc -l < "$WORK/list-tree") entries of the 'udocker create' tree, the same")
    else
        cp "$WORK/list-diff" "$OUT/listing-$size.diff"
        CHECKS+=("$size: unsquashfs -lln and the 'udocker create' tree differ in $(grep -c '^[<>]' "$WORK/list-diff") lines (listing-$size.diff)")
    fi
done

# ---- report ------------------------------------------------------------------------------------------------------
echo "== all runs, seconds, sorted (also in $OUT/runs.txt)" >&2
for cell in $(awk '{ print $1 }' "$WORK/times" | sort -u); do
    echo "$cell: $(awk -v c="$cell" '$1 == c { print $2 }' "$WORK/times" | sort -g | tr '\n' ' ')"
done | tee "$OUT/runs.txt" >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.2f", a }'; }
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.0f", b / 1e6 }'; }
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD)
{
    echo "# SquashFS: building and reading (issue 17)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, release binaries; $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
    echo "kernel $(uname -r), $(df -T "$WORK" | awk 'NR == 2 { print $2 }') under $WORK; medians of $REPS interleaved rounds;"
    echo "load average $LOAD_BEFORE before, $LOAD_AFTER after. mksquashfs $(mksquashfs -version | head -n1 | cut -d' ' -f3),"
    echo "options ${MKSQUASHFS_OPTIONS[*]}; our builder: libsquashfs $(dpkg-query -W -f '${Version}' libsquashfs1 2>/dev/null), $THREADS workers."
    echo
    echo "Build (s; inputs in the page cache):"
    echo
    echo "| image | layer | ours (publish) | tar -x | + mksquashfs | pair | mksquashfs alone | sha256 of ours | ours ÷ pair | ours ÷ mksquashfs | image ours / mksquashfs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for size in "${SIZES[@]}"; do
        o=$(median "ours:$size"); p=$(median "pair:$size"); m=$(median "mksquashfs:$size")
        echo "| $size | $(mb "${LAYER[$size]}") MB | $(secs "$o") | $(secs "$(median "extract:$size")") | $(secs "$(median "pair-mksquashfs:$size")") | $(secs "$p") | $(secs "$m") | $(secs "$(median "sha256:$size")") | $(ratio "$o" "$p") | $(ratio "$o" "$m") | $(mb "$WORK/access-$size.sqfs") / $(mb "$WORK/mk-$size.sqfs") MB |"
    done
    echo
    echo "File access as the unprivileged user (s; the image's find, inside the root):"
    echo
    if [ -n "$OTHER" ]; then
        echo "| image | operation | cache | extracted tree | FUSE mount | mount ÷ tree | $OTHER_LABEL | ÷ tree |"
        echo "|---|---|---|---:|---:|---:|---:|---:|"
    else
        echo "| image | operation | cache | extracted tree | FUSE mount | mount ÷ tree |"
        echo "|---|---|---|---:|---:|---:|"
    fi
    for size in "${SIZES[@]}"; do
        [ "$size" != mpi-tar ] || continue
        for op in walk read; do
            for cache in cold warm; do
                t=$(median "tree:$size:$op:$cache"); f=$(median "mount:$size:$op:$cache")
                line="| $size | $op | $cache | $(secs "$t") | $(secs "$f") | $(ratio "$f" "$t") |"
                if [ -n "$OTHER" ]; then
                    o=$(median "other:$size:$op:$cache")
                    line+=" $(secs "$o") | $(ratio "$o" "$t") |"
                fi
                echo "$line"
            done
        done
    done
    echo
    echo "walk: \`find / -xdev -ls\`; read: \`find / -xdev -type f -exec cat {} +\`."
    echo
    echo "Checks:"
    echo
    for line in "${CHECKS[@]}"; do echo "- $line"; done
} > "$OUT/summary.md"
{
    echo "# image ours pair mksquashfs (seconds)"
    for size in "${SIZES[@]}"; do echo "$size $(median "ours:$size") $(median "pair:$size") $(median "mksquashfs:$size")"; done
} > "$OUT/build.dat"
{
    echo "# case walk-cold walk-warm read-cold read-warm (FUSE mount ÷ extracted tree), then the same for $OTHER_LABEL"
    for size in "${SIZES[@]}"; do
        [ "$size" != mpi-tar ] || continue
        line=$size
        for op in walk read; do
            for cache in cold warm; do line+=" $(ratio "$(median "mount:$size:$op:$cache")" "$(median "tree:$size:$op:$cache")")"; done
        done
        [ -z "$OTHER" ] || for op in walk read; do
            for cache in cold warm; do line+=" $(ratio "$(median "other:$size:$op:$cache")" "$(median "tree:$size:$op:$cache")")"; done
        done
        echo "$line"
    done
} > "$OUT/access.dat"
gnuplot -e "dir='$OUT'; other='$OTHER_LABEL'" "$ROOT/bench/squashfs/plot.gp"
cat "$OUT/summary.md"
echo "== results in $OUT (summary.md, runs.txt, squashfs.png)" >&2
