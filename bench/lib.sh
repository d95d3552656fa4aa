# Shared by the bench scripts: sourced in their first half (as root or the developer, before measuring) and, as
# WORK/lib.sh, in their unprivileged second half.

# start_bench ROOT NAME SCRIPT: WORK, a new world-readable directory removed at exit, holding this udocker (below),
# SCRIPT itself (as WORK/run.sh, for its unprivileged second half) and this file (as WORK/lib.sh).
start_bench() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/udocker-bench-$2-XXXXXX")
    chmod 755 "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    stage_udocker_swift "$1" "$WORK"
    install -m 0755 "$3" "$WORK/run.sh"
    install -m 0644 "$1/bench/lib.sh" "$WORK/lib.sh"
}

# record_time CELL T0 T1: appends "CELL SECONDS" to WORK/times (T0 and T1 are $EPOCHREALTIME readings).
record_time() {
    echo "$1 $2 $3" | awk '{ printf "%s %.6f\n", $1, $3 - $2 }' >> "$WORK/times"
}

# measure_rounds RUNS: every cell of CELLS once, untimed, then RUNS timed rounds of all of them, each round starting
# three cells further on so that no cell always runs after the same one; each run is the caller's time_cell CELL.
measure_rounds() {
    local cell round i
    echo "== one untimed round, then $1 timed rounds of ${#CELLS[@]} cells" >&2
    for cell in "${CELLS[@]}"; do time_cell "$cell"; done
    : > "$WORK/times"
    for round in $(seq 0 $(($1 - 1))); do
        for i in $(seq 0 $((${#CELLS[@]} - 1))); do time_cell "${CELLS[$(( (i + round * 3) % ${#CELLS[@]} ))]}"; done
        echo "round $((round + 1)) done" >&2
    done
}

# median CELL: the median of CELL's times in WORK/times (nothing when it has none).
median() {
    awk -v c="$1" '$1 == c { print $2 }' "$WORK/times" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}

# stage_udocker_swift ROOT WORK: a release build of this udocker as `make install` builds it (Swift runtime linked
# in), copied to WORK/udocker.
stage_udocker_swift() {
    echo "== building udocker-swift (release, static Swift runtime)" >&2
    (cd "$1" && make build >&2)
    install -m 0755 "$1/.build/release/udocker" "$2/udocker"
}

# stage_udocker_1317 ROOT WORK: udocker 1.3.17's Python package unpacked, world-readable, in WORK/u1317: the copy the
# tests cached in ROOT/.build/udocker-1.3.17, else the wheel UDOCKER_WHEEL names, else one `pip download` fetches.
stage_udocker_1317() {
    local cache="$1/.build/udocker-1.3.17" wheel=${UDOCKER_WHEEL:-}
    echo "== unpacking udocker 1.3.17" >&2
    if [ -z "$wheel" ] && [ -f "$cache/udocker/maincmd.py" ]; then
        cp -a "$cache" "$2/u1317"
    else
        if [ -z "$wheel" ]; then
            /usr/bin/python3 -m pip download -q --no-deps --only-binary=:all: -d "$2/wheel" udocker==1.3.17
            wheel=$(ls "$2"/wheel/udocker-1.3.17-*.whl)
        fi
        /usr/bin/python3 -m zipfile -e "$wheel" "$2/u1317"
    fi
    chmod -R a+rX "$2/u1317"
}

# stage_debian_rootfs WORK: a Debian 12 minbase rootfs tarball at WORK/rootfs.tar, world-readable: the one the tests
# cached, else one mmdebstrap builds (which needs the Debian mirror).
stage_debian_rootfs() {
    local cached rootfs
    if [ "$(id -u)" = 0 ]; then cached=/var/cache/udocker-swift-tests; else cached=/tmp/udocker-swift-tests-$(id -u); fi
    rootfs=$(ls -t "$cached"/bookworm-minbase-*.tar 2>/dev/null | grep -v partial | head -n1 || true)
    if [ -n "$rootfs" ]; then
        cp "$rootfs" "$1/rootfs.tar"
    elif [ "$(id -u)" = 0 ]; then
        mmdebstrap --quiet --variant=minbase bookworm "$1/rootfs.tar"
    else
        mmdebstrap --quiet --variant=minbase --mode=unshare bookworm "$1/rootfs.tar"
    fi
    chmod 644 "$1/rootfs.tar"
}
