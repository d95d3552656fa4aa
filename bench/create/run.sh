#!/usr/bin/env bash
# Create and load benchmark: udocker-swift (release build) against udocker 1.3.17 on the same image, a Debian 12
# minbase rootfs (~170 MB, thousands of files) imported as a one-layer image and saved as a docker-save tarball.
# create: `create debian:bench` into an empty container, each tool from its own repository holding that image; the
#         container is removed (untimed) after each run. udocker 1.3.17 extracts with GNU tar, this one with libarchive.
# load:   `load -i debian.tar` into an empty repository each run.
# Every timed command starts after `sync`, so no run pays for the previous one's write-back; the tarball and the
# layer stay in the page cache. Each round times the four cells once, starting at a different one; medians of RUNS.
#
# Usage: bench/create/run.sh [RUNS]     (default 9; as root, the measurements run as the unprivileged user udbench)
# Works in a new directory under $TMPDIR (default /tmp): creating 8,700 files measures that file system too.
# Needs: mmdebstrap (make deps) unless the tests cached a rootfs, and udocker 1.3.17: the copy the tests cached in
# .build/udocker-1.3.17, else UDOCKER_WHEEL=FILE, else `pip download` fetches the wheel.
set -euo pipefail

# ---- second half: runs as the bench user, in $WORK --------------------------------------------------------------
if [ "${1:-}" = --measure ]; then
    WORK=$2
    RUNS=$3
    cd "$WORK"
    # shellcheck source=../lib.sh
    source "$WORK/lib.sh"
    swift() { "$WORK/udocker" "$@"; }
    u1317() { PYTHONPATH="$WORK/u1317" /usr/bin/python3 -c \
                  'import sys; sys.argv[0] = "udocker"; from udocker.maincmd import main; main()' "$@"; }
    new_repo() {  # new_repo DIR: an empty repository that udocker 1.3.17 can use without its tarball
        mkdir -p "$1/lib"
        echo 1.2.11 > "$1/lib/VERSION"
    }
    quiet() { "$@" > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; echo "failed: $*" >&2; exit 1; }; }

    echo "== the image, in each tool's repository" >&2
    new_repo "$WORK/import"
    UDOCKER_DIR="$WORK/import" quiet swift import "$WORK/rootfs.tar" debian:bench
    UDOCKER_DIR="$WORK/import" quiet swift save -o "$WORK/debian.tar" debian:bench
    for tool in swift u1317; do
        new_repo "$WORK/repo-$tool"
        UDOCKER_DIR="$WORK/repo-$tool" quiet $tool load -i "$WORK/debian.tar"
    done

    run_cell() {  # run_cell TOOL OPERATION → the command's output in $WORK/out
        case $2 in
            create) UDOCKER_DIR="$WORK/repo-$1" $1 create debian:bench ;;
            load) UDOCKER_DIR="$WORK/scratch" $1 load -i "$WORK/debian.tar" ;;
        esac
    }
    time_cell() {  # time_cell TOOL OPERATION → appends "TOOL:OPERATION SECONDS" to times
        local t0 t1 rc=0 id
        [ "$2" = load ] && new_repo "$WORK/scratch"
        sync
        t0=$EPOCHREALTIME
        run_cell "$1" "$2" > "$WORK/out" 2> "$WORK/err" || rc=$?
        t1=$EPOCHREALTIME
        [ "$rc" = 0 ] || { echo "$1 $2 failed (exit $rc):" >&2; cat "$WORK/out" "$WORK/err" >&2; exit 1; }
        case $2 in
            create)
                id=$(tail -n1 "$WORK/out")
                [ -x "$WORK/repo-$1/containers/$id/ROOT/usr/bin/dpkg" ] || { echo "$1: no container $id" >&2; exit 1; }
                # udocker 1.3.17 leaves out everything under /dev (tar --exclude=dev/*); this one only device nodes
                find "$WORK/repo-$1/containers/$id/ROOT" -path "*/ROOT/dev/*" -prune -o -print | wc -l > "$WORK/files-$1"
                UDOCKER_DIR="$WORK/repo-$1" quiet $1 rm "$id" ;;
            load)
                [ -n "$(ls "$WORK/scratch/repos/debian/bench" 2>/dev/null)" ] || { echo "$1: image not loaded" >&2; exit 1; }
                rm -rf "$WORK/scratch" ;;
        esac
        record_time "$1:$2" "$t0" "$t1"
    }

    CELLS=(swift:create u1317:create swift:load u1317:load)
    echo "== one untimed round, then $RUNS timed rounds of ${#CELLS[@]} cells" >&2
    for cell in "${CELLS[@]}"; do time_cell "${cell%:*}" "${cell#*:}"; done
    [ "$(cat "$WORK/files-swift")" = "$(cat "$WORK/files-u1317")" ] ||
        { echo "the containers differ: $(cat "$WORK/files-swift") against $(cat "$WORK/files-u1317") entries" >&2; exit 1; }
    cp "$WORK/files-swift" "$WORK/files"
    : > "$WORK/times"
    for round in $(seq 0 $((RUNS - 1))); do
        for i in $(seq 0 $((${#CELLS[@]} - 1))); do
            cell=${CELLS[$(( (i + round) % ${#CELLS[@]} ))]}
            time_cell "${cell%:*}" "${cell#*:}"
        done
        echo "round $((round + 1)) done" >&2
    done
    exit 0
fi

# ---- first half: build and stage everything world-readable, then measure as an unprivileged user ----------------
RUNS=${1:-9}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
start_bench "$ROOT" create "$0"

stage_udocker_1317 "$ROOT" "$WORK"

echo "== Debian 12 minbase rootfs" >&2
stage_debian_rootfs "$WORK"

# udocker refuses root, and so does udocker 1.3.17.
AS=()
if [ "$(id -u)" = 0 ]; then
    id udbench >/dev/null 2>&1 || useradd -m udbench
    AS=(runuser -u udbench --)
    chown udbench "$WORK"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -m 1777 "$WORK/tmp"   # both tools' temporary files (udocker 1.3.17 unpacks `load`'s tarball there) on one file system
"${AS[@]}" env -i PATH=/usr/bin:/bin HOME="$WORK" TMPDIR="$WORK/tmp" bash "$WORK/run.sh" --measure "$WORK" "$RUNS"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------------------------
echo "== all runs, seconds, sorted" >&2
for cell in $(awk '{ print $1 }' "$WORK/times" | sort -u); do
    echo "$cell: $(awk -v c="$cell" '$1 == c { print $2 }' "$WORK/times" | sort -g | tr '\n' ' ')" >&2
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
MB=$(( $(stat -c %s "$WORK/debian.tar") / 1000000 ))
printf '\nDebian 12 minbase, %d MB docker-save tarball, %d entries in the container outside /dev; medians of %d runs:\n\n' \
    "$MB" "$(cat "$WORK/files")" "$RUNS"
printf '| operation | udocker-swift %s | udocker 1.3.17 | 1.3.17 ÷ swift |\n|---|---|---|---|\n' \
    "$(cd "$ROOT" && git rev-parse --short HEAD)"
for op in create load; do
    s=$(median "swift:$op")
    u=$(median "u1317:$op")
    printf '| %s | %.2f s | %.2f s | %s |\n' "$op" "$s" "$u" "$(ratio "$u" "$s")"
done
printf '\nudocker 1.3.17 ÷ udocker-swift: create %s, load %s\n' \
    "$(ratio "$(median u1317:create)" "$(median swift:create)")" "$(ratio "$(median u1317:load)" "$(median swift:load)")"
printf '%s, %d cores, %s; in %s (%s); load average before %s, after %s\n' "$(date -u +%Y-%m-%d)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(dirname "$WORK")" "$(stat -f -c %T "$WORK")" \
    "$LOAD_BEFORE" "$LOAD_AFTER"
