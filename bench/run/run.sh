#!/usr/bin/env bash
# Start-up benchmark: what `udocker run --nobanner CONTAINER CMD` costs in each execution mode, against CMD run
# natively on the host, and against udocker 1.3.17 in the modes it can run offline with Debian's tools.
# Two commands: `/bin/true` (start-up alone) and `/bin/sh -c` of a loop that execs /bin/true 200 times (the cost each
# exec pays: proot's ptrace, fakechroot's preloaded library and loader).
# U1 R1 F1 F3 run on a Debian 12 minbase rootfs (the host being Debian 12, the native command runs the same binaries);
# P1 runs on a busybox-static image (Debian's proot 5.1 cannot start dynamic glibc >= 2.33 programs), its native
# command running the container's own busybox from ROOT. Containers are created and set up once per mode, untimed.
# Each round times every cell once, starting at a different cell; medians of RUNS rounds.
#
# Usage: bench/run/run.sh [RUNS]        (default 11; as root, the measurements run as the unprivileged user udbench)
# Works in a new directory under $TMPDIR (default /tmp).
# Needs: proot fakechroot runc patchelf busybox-static mmdebstrap (make deps), and udocker 1.3.17: the copy the tests
# cached in .build/udocker-1.3.17, else UDOCKER_WHEEL=FILE, else `pip download` fetches the wheel.
# The rootfs is the tests' cached bookworm-minbase-*.tar, else mmdebstrap builds one (which needs a Debian mirror).
set -euo pipefail

LOOP='for i in $(seq 200); do /bin/true || exit 1; done; echo $i'
DEBIAN_MODES="U1 R1 F1 F3"
U1317_MODES="P1 F1 R1"   # its F3 needs its own patchelf (--set-root-prefix), which Debian's has not
FAKECHROOT_SO=/usr/lib/x86_64-linux-gnu/fakechroot/libfakechroot.so

# ---- second half: runs as the bench user, in $WORK --------------------------------------------------------------
if [ "${1:-}" = --measure ]; then
    WORK=$2
    RUNS=$3
    cd "$WORK"
    # shellcheck source=../lib.sh
    source "$WORK/lib.sh"
    swift() { UDOCKER_DIR="$WORK/repo-swift" "$WORK/udocker" "$@"; }
    u1317() {
        UDOCKER_DIR="$WORK/repo-u1317" PYTHONPATH="$WORK/u1317" UDOCKER_USE_PROOT_EXECUTABLE=/usr/bin/proot \
            UDOCKER_USE_RUNC_EXECUTABLE=/usr/sbin/runc UDOCKER_USE_PATCHELF_EXECUTABLE="$WORK/patchelf" \
            UDOCKER_FAKECHROOT_SO="$FAKECHROOT_SO" \
            /usr/bin/python3 -c 'import sys; sys.argv[0] = "udocker"; from udocker.maincmd import main; main()' "$@"
    }
    quiet() { "$@" > "$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; echo "failed: $*" >&2; exit 1; }; }

    echo "== images and containers" >&2
    quiet swift load -i "$WORK/busybox.tar"
    quiet swift import "$WORK/rootfs.tar" debian:bench
    # udocker 1.3.17 stops on a KeyError loading a docker-save tarball without per-layer json files (as the one
    # build-image.sh writes): it loads the ones this udocker saves.
    quiet swift save -o "$WORK/busybox-saved.tar" sample:latest
    quiet swift save -o "$WORK/debian-saved.tar" debian:bench
    mkdir -p "$WORK/repo-u1317/lib"
    echo 1.2.11 > "$WORK/repo-u1317/lib/VERSION"   # lets udocker 1.3.17 start without its tarball
    quiet u1317 load -i "$WORK/busybox-saved.tar"
    quiet u1317 load -i "$WORK/debian-saved.tar"
    for tool in swift u1317; do
        quiet $tool create --name=m-P1 sample:latest
        quiet $tool setup --execmode=P1 m-P1
    done
    for mode in $DEBIAN_MODES; do
        quiet swift create --name="m-$mode" debian:bench
        quiet swift setup --execmode="$mode" "m-$mode"
    done
    for mode in $U1317_MODES; do
        [ "$mode" = P1 ] && continue
        quiet u1317 create --name="m-$mode" debian:bench
        quiet u1317 setup --execmode="$mode" "m-$mode"
    done
    BUSYBOX_ROOT=$WORK/repo-swift/containers/$(readlink "$WORK/repo-swift/containers/m-P1")/ROOT

    # A cell is WORKLOAD:TOOL:MODE; native:P1 is the busybox guest's command, native:deb the Debian one.
    CELLS=()
    for workload in true loop; do
        CELLS+=("$workload:native:deb" "$workload:native:P1")
        for mode in $DEBIAN_MODES P1; do CELLS+=("$workload:swift:$mode"); done
        for mode in $U1317_MODES; do CELLS+=("$workload:u1317:$mode"); done
    done
    run_cell() {  # run_cell WORKLOAD TOOL MODE
        local cmd
        if [ "$1" = true ]; then cmd=(/bin/true); else cmd=(/bin/sh -c "$LOOP"); fi
        case $2:$3 in
            native:deb) "${cmd[@]}" ;;
            native:P1)
                if [ "$1" = true ]; then "$BUSYBOX_ROOT/bin/true"
                else PATH="$BUSYBOX_ROOT/bin" "$BUSYBOX_ROOT/bin/sh" -c "${LOOP//\/bin\/true/$BUSYBOX_ROOT/bin/true}"; fi ;;
            *) $2 run --nobanner "m-$3" "${cmd[@]}" ;;
        esac
    }
    time_cell() {  # time_cell CELL → appends "CELL SECONDS" to times; a failed run or a short loop stops everything
        local workload tool mode t0 t1 rc=0
        IFS=: read -r workload tool mode <<< "$1"
        t0=$EPOCHREALTIME
        run_cell "$workload" "$tool" "$mode" > "$WORK/out" 2> "$WORK/err" || rc=$?
        t1=$EPOCHREALTIME
        # Without a terminal udocker 1.3.17's R1 copies the output through a pty (CR LF), stops at its end (killing
        # runc if still there) and exits with sys.exit(<Popen object>): status 1, runc's (0 or None) in the text.
        if [ "$tool:$mode:$rc" = u1317:R1:1 ] &&
           grep -Eq '<Popen: returncode: (0|None) ' "$WORK/out" "$WORK/err"; then rc=0; fi
        if [ "$rc" != 0 ] || { [ "$workload" = loop ] && ! tr -d '\r' < "$WORK/out" | grep -qx 200; }; then
            echo "$1 failed (exit $rc):" >&2; cat "$WORK/out" "$WORK/err" >&2; exit 1
        fi
        record_time "$1" "$t0" "$t1"
    }

    measure_rounds "$RUNS"
    exit 0
fi

# ---- first half: build and stage everything world-readable, then measure as an unprivileged user ----------------
RUNS=${1:-11}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
start_bench "$ROOT" run "$0"

stage_udocker_1317 "$ROOT" "$WORK"
# udocker 1.3.17 asks its own patchelf `-q --print-interpreter` for the guest's loader; Debian's patchelf 0.14 has no
# -q, so every F1 run would walk all of /bin and /usr/bin in vain and run the guest on the host's loader. This shim
# drops the -q: the first run finds the loader and caches it in the container's ld.so.path, as udocker's patchelf does.
printf '#!/bin/sh\n[ "$1" = -q ] && shift\nexec /usr/bin/patchelf "$@"\n' > "$WORK/patchelf"
chmod 755 "$WORK/patchelf"

echo "== images: busybox-static, Debian 12 minbase" >&2
sh "$ROOT/examples/sample/build-image.sh" "$WORK/busybox.tar"
stage_debian_rootfs "$WORK"
chmod 644 "$WORK/busybox.tar"

# udocker refuses root, and so does udocker 1.3.17.
AS=()
if [ "$(id -u)" = 0 ]; then
    id udbench >/dev/null 2>&1 || useradd -m udbench
    AS=(runuser -u udbench --)
    chown udbench "$WORK"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -m 1777 "$WORK/tmp"   # both tools' temporary files, on the file system under test
"${AS[@]}" env -i PATH=/usr/bin:/bin HOME="$WORK" TMPDIR="$WORK/tmp" bash "$WORK/run.sh" --measure "$WORK" "$RUNS"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------------------------
echo "== all runs, seconds, sorted" >&2
for cell in $(awk '{ print $1 }' "$WORK/times" | sort -u); do
    echo "$cell: $(awk -v c="$cell" '$1 == c { print $2 }' "$WORK/times" | sort -g | tr '\n' ' ')" >&2
done
ms() { awk -v s="$1" 'BEGIN { printf (s < 0.1 ? "%.1f ms" : "%.0f ms"), s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; printf (r < 10 ? "%.2f" : "%.0f"), r }'; }
guest() { if [ "$1" = P1 ]; then echo busybox; else echo Debian 12; fi; }

for workload in true loop; do
    if [ $workload = true ]; then
        printf '\n`run --nobanner C /bin/true`, medians of %d runs:\n\n' "$RUNS"
        printf '| mode | guest | native | udocker-swift | ÷ native | udocker 1.3.17 | ÷ native | 1.3.17 ÷ swift |\n'
        printf '|---|---|---|---|---|---|---|---|\n'
    else
        printf '\n`run --nobanner C /bin/sh -c %s`, medians of %d runs;\n' "'$LOOP'" "$RUNS"
        printf 'per exec: (loop − true) of the mode, less (loop − true) natively, ÷ 200:\n\n'
        printf '| mode | guest | native | udocker-swift | ÷ native | per exec | udocker 1.3.17 | ÷ native | per exec | 1.3.17 ÷ swift |\n'
        printf '|---|---|---|---|---|---|---|---|---|---|\n'
    fi
    for mode in $DEBIAN_MODES P1; do
        if [ "$mode" = P1 ]; then native=P1; else native=deb; fi
        n=$(median "$workload:native:$native")
        s=$(median "$workload:swift:$mode")
        u=$(median "$workload:u1317:$mode")
        per_exec() {  # per_exec TOOL → µs each exec costs in that tool and mode, beyond a native exec
            awk -v l="$(median "loop:$1:$mode")" -v t="$(median "true:$1:$mode")" \
                -v nl="$(median "loop:native:$native")" -v nt="$(median "true:native:$native")" \
                'BEGIN { printf "%.0f µs", ((l - t) - (nl - nt)) / 200 * 1e6 }'
        }
        row="| $mode | $(guest "$mode") | $(ms "$n") | $(ms "$s") | $(ratio "$s" "$n") |"
        [ $workload = loop ] && row="$row $(per_exec swift) |"
        if [ -n "$u" ]; then
            row="$row $(ms "$u") | $(ratio "$u" "$n") |"
            [ $workload = loop ] && row="$row $(per_exec u1317) |"
            row="$row $(ratio "$u" "$s") |"
        else
            row="$row n/a | |"
            [ $workload = loop ] && row="$row |"
            row="$row |"
        fi
        echo "$row"
    done
done
printf '\n%s, %d cores, %s; in %s (%s); load average before %s, after %s; udocker-swift %s\n' "$(date -u +%Y-%m-%d)" \
    "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(dirname "$WORK")" \
    "$(stat -f -c %T "$WORK")" "$LOAD_BEFORE" "$LOAD_AFTER" "$(cd "$ROOT" && git rev-parse --short HEAD)"
for mode in $U1317_MODES; do
    printf 'udocker 1.3.17 ÷ udocker-swift, %s: start-up %s, loop %s\n' "$mode" \
        "$(ratio "$(median "true:u1317:$mode")" "$(median "true:swift:$mode")")" \
        "$(ratio "$(median "loop:u1317:$mode")" "$(median "loop:swift:$mode")")"
done
