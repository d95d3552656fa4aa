#!/usr/bin/env bash
# Start-up benchmark: what udocker-swift adds to the engine it drives. `udocker run --nobanner C /bin/true` against
# the bare engine command doing the same (U1: unshare --user --map-current-user --mount + chroot; P1: proot -r;
# F1: the guest's loader with LD_PRELOAD=libfakechroot.so), and `udocker version` against an empty static Swift
# program that imports Foundation (the floor for any Swift program built as `make install` builds udocker).
# Goals (issue 12): run within 3 ms of the bare engine, version within 2 ms of the empty program. P1 is also timed
# against the proot command udocker actually runs (its binds of /dev /proc /sys resolv.conf host.conf passwd group,
# -i and -w), which costs proot more than `proot -r` does: that row is what udocker itself adds.
# U1 and F1 run on a Debian 12 minbase rootfs, P1 on a busybox-static image (Debian's proot 5.1 cannot start glibc
# >= 2.33 programs). Each round times every cell once, starting at a different cell; medians of RUNS rounds.
#
# Usage: bench/startup/run.sh [RUNS]    (default 31; as root, the measurements run as the unprivileged user udbench)
# Needs: proot fakechroot patchelf busybox-static mmdebstrap (make deps); the rootfs is the tests' cached
# bookworm-minbase-*.tar, else mmdebstrap builds one.
set -euo pipefail
FAKECHROOT_SO=/usr/lib/x86_64-linux-gnu/fakechroot/libfakechroot.so
CELLS=(version:empty version:swift true:bare:U1 true:swift:U1 true:bare:P1 true:same:P1 true:swift:P1 true:bare:F1
       true:swift:F1)

# ---- second half: runs as the bench user, in $WORK --------------------------------------------------------------
if [ "${1:-}" = --measure ]; then
    WORK=$2 RUNS=$3
    cd "$WORK"
    # shellcheck source=../lib.sh
    source "$WORK/lib.sh"
    swift() { UDOCKER_DIR="$WORK/repo" "$WORK/udocker" "$@"; }
    quiet() { "$@" > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; echo "failed: $*" >&2; exit 1; }; }
    echo "== images and containers" >&2
    quiet swift load -i "$WORK/busybox.tar"
    quiet swift import "$WORK/rootfs.tar" debian:bench
    quiet swift create --name=m-P1 sample:latest
    quiet swift setup --execmode=P1 m-P1
    for mode in U1 F1; do quiet swift create --name="m-$mode" debian:bench; quiet swift setup --execmode="$mode" "m-$mode"; done
    root() { echo "$WORK/repo/containers/$(readlink "$WORK/repo/containers/m-$1")/ROOT"; }
    P1_ROOT=$(root P1) U1_ROOT=$(root U1) F1_ROOT=$(root F1)
    P1_DIR=$(dirname "$P1_ROOT") ME="$(id -u):$(id -g)"  # outside the timed commands: each $(id) is a fork and exec
    quiet swift run --nobanner m-P1 /bin/true  # writes the container's passwd and group, which true:same:P1 binds
    F1_LIBS=$F1_ROOT/usr/lib/x86_64-linux-gnu:$F1_ROOT/usr/lib
    run_cell() {  # run_cell CELL
        case $1 in
            version:empty) "$WORK/empty" ;;
            version:swift) swift version ;;
            true:bare:U1) unshare --user --map-current-user --mount --keep-caps /usr/sbin/chroot "$U1_ROOT" /bin/true ;;
            true:bare:P1) /usr/bin/proot -r "$P1_ROOT" /bin/true ;;
            true:same:P1) PROOT_TMP_DIR=$WORK/tmp /usr/bin/proot -b /dev:/dev -b /proc:/proc -b /sys:/sys \
                              -b /etc/resolv.conf:/etc/resolv.conf -b /etc/host.conf:/etc/host.conf \
                              -b "$P1_DIR/passwd:/etc/passwd" -b "$P1_DIR/group:/etc/group" -i "$ME" \
                              -r "$P1_ROOT" -w /tmp /bin/true ;;
            true:bare:F1) LD_PRELOAD=$FAKECHROOT_SO FAKECHROOT_BASE=$F1_ROOT LD_LIBRARY_PATH=$F1_LIBS \
                              "$F1_ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$F1_ROOT/usr/bin/true" ;;
            true:swift:*) swift run --nobanner "m-${1##*:}" /bin/true ;;
        esac
    }
    time_cell() {
        local t0 t1 rc=0
        t0=$EPOCHREALTIME
        run_cell "$1" > "$WORK/out" 2> "$WORK/err" || rc=$?
        t1=$EPOCHREALTIME
        if [ "$rc" != 0 ]; then echo "$1 failed (exit $rc):" >&2; cat "$WORK/out" "$WORK/err" >&2; exit 1; fi
        record_time "$1" "$t0" "$t1"
    }
    measure_rounds "$RUNS"
    exit 0
fi

# ---- first half: build and stage everything world-readable, then measure as an unprivileged user ----------------
RUNS=${1:-31}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
start_bench "$ROOT" startup "$0"
echo "== the empty static Swift program" >&2
echo 'import Foundation' > "$WORK/empty.swift"
swiftc -O -static-stdlib -o "$WORK/empty" "$WORK/empty.swift" -module-cache-path "$WORK/module-cache" >&2
echo "== images: busybox-static, Debian 12 minbase" >&2
sh "$ROOT/examples/sample/build-image.sh" "$WORK/busybox.tar"
stage_debian_rootfs "$WORK"
chmod 644 "$WORK/busybox.tar"
AS=()
if [ "$(id -u)" = 0 ]; then
    id udbench >/dev/null 2>&1 || useradd -m udbench
    AS=(runuser -u udbench --)
    chown udbench "$WORK"
fi
mkdir -m 1777 "$WORK/tmp"
"${AS[@]}" env -i PATH=/usr/bin:/bin HOME="$WORK" TMPDIR="$WORK/tmp" bash "$WORK/run.sh" --measure "$WORK" "$RUNS"

# ---- report -----------------------------------------------------------------------------------------------------
row() {  # row LABEL BASELINE-CELL CELL GOAL-MS
    awk -v l="$1" -v b="$(median "$2")" -v s="$(median "$3")" -v g="$4" 'BEGIN {
        printf "| %s | %.1f ms | %.1f ms | %+.1f ms | %.2f | %s |\n", l, b * 1000, s * 1000, (s - b) * 1000, s / b,
               (s - b) * 1000 <= g ? "within " g " ms" : "over " g " ms" }'
}
printf '\nMedians of %d interleaved runs:\n\n' "$RUNS"
printf '| command | baseline | udocker-swift | difference | ratio | goal |\n|---|---|---|---|---|---|\n'
row '`version` vs empty static Swift program' version:empty version:swift 2
for mode in U1 P1 F1; do row "\`run C /bin/true\` $mode vs bare engine" "true:bare:$mode" "true:swift:$mode" 3; done
row '`run C /bin/true` P1 vs the proot command udocker runs' true:same:P1 true:swift:P1 3
printf '\n%s, %d cores, %s; udocker-swift %s\n' "$(date -u +%Y-%m-%d)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(cd "$ROOT" && git rev-parse --short HEAD)"
