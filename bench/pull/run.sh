#!/usr/bin/env bash
# Pull benchmark: udocker-swift (release build) against udocker 1.3.17, both pulling the same 4-layer image
# (4 x 30 MB of random data, so gzip cannot shrink it) from Debian's docker-registry on 127.0.0.1, plain HTTP.
# Each run pulls into an empty repository; the two tools alternate which goes first; medians of RUNS runs.
#
# Usage: bench/pull/run.sh [RUNS]        (default 7; as root, the pulls run as the unprivileged user udbench)
# Needs: docker-registry skopeo umoci curl python3 (make deps), and udocker 1.3.17: the copy the tests cached in
# .build/udocker-1.3.17, else UDOCKER_WHEEL=FILE, else `pip download` fetches the wheel.
set -euo pipefail
RUNS=${1:-7}
LAYERS=4
LAYER_MB=30
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/udocker-bench-pull-XXXXXX)
chmod 755 "$WORK"
REGISTRY_PID=""
cleanup() {
    if [ -n "$REGISTRY_PID" ]; then
        kill "$REGISTRY_PID" 2>/dev/null || true
        wait "$REGISTRY_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
stage_udocker_swift "$ROOT" "$WORK"

stage_udocker_1317 "$ROOT" "$WORK"

echo "== building and pushing a $LAYERS x $LAYER_MB MB image" >&2
umoci init --layout "$WORK/oci" >/dev/null
umoci new --image "$WORK/oci:v1" >/dev/null
for i in $(seq 1 "$LAYERS"); do
    umoci unpack --rootless --image "$WORK/oci:v1" "$WORK/bundle" >/dev/null
    head -c "${LAYER_MB}M" /dev/urandom > "$WORK/bundle/rootfs/data$i"
    umoci repack --image "$WORK/oci:v1" "$WORK/bundle" >/dev/null
    rm -rf "$WORK/bundle"
done
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/storage}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$WORK/oci:v1" "docker://127.0.0.1:$PORT/bench/img:v1"

# The pulls run unprivileged (udocker 1.3.17 refuses root).
AS=()
if [ "$(id -u)" = 0 ]; then
    id udbench >/dev/null 2>&1 || useradd -m udbench
    AS=(runuser -u udbench --)
fi
if [ "$(id -u)" = 0 ]; then chown udbench "$WORK"; fi

pull() {  # pull TOOL RUN → seconds
    local tool=$1 dir=$WORK/repo-$1-$2
    local env=(env -i PATH=/usr/bin:/bin HOME="$WORK" UDOCKER_DIR="$dir")
    "${AS[@]}" mkdir -p "$dir/lib"
    echo 1.2.11 | "${AS[@]}" tee "$dir/lib/VERSION" >/dev/null   # lets udocker 1.3.17 start without its tarball
    local start end
    start=$(date +%s.%N)
    case $tool in
        swift) "${AS[@]}" "${env[@]}" "$WORK/udocker" -q --insecure pull --registry="http://127.0.0.1:$PORT" bench/img:v1 ;;
        u1317) "${AS[@]}" "${env[@]}" PYTHONPATH="$WORK/u1317" /usr/bin/python3 -c \
                   'import sys; sys.argv[0] = "udocker"; from udocker.maincmd import main; main()' \
                   -q pull --registry="http://127.0.0.1:$PORT" bench/img:v1 ;;
    esac
    end=$(date +%s.%N)
    [ -n "$(ls "$dir/repos/bench/img/v1" 2>/dev/null)" ] || { echo "$tool: image not stored" >&2; exit 1; }
    "${AS[@]}" rm -rf "$dir"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "== $RUNS interleaved runs" >&2
: > "$WORK/times"
for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) = 1 ]; then order="swift u1317"; else order="u1317 swift"; fi
    for tool in $order; do
        t=$(pull "$tool" "$run")
        echo "$tool $t" >> "$WORK/times"
        printf 'run %d %-6s %6.3f s\n' "$run" "$tool" "$t" >&2
    done
done

SWIFT=$(median swift)
U1317=$(median u1317)
MB=$((LAYERS * LAYER_MB))
printf '\n| tool | median pull time (%d runs) | throughput |\n|---|---|---|\n' "$RUNS"
div() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }
printf '| udocker-swift %s | %.2f s | %.0f MB/s |\n' "$(cd "$ROOT" && git rev-parse --short HEAD)" "$SWIFT" "$(div "$MB" "$SWIFT")"
printf '| udocker 1.3.17 | %.2f s | %.0f MB/s |\n' "$U1317" "$(div "$MB" "$U1317")"
printf '\nudocker 1.3.17 / udocker-swift = %.2f (%s, %d cores, %s)\n' "$(div "$U1317" "$SWIFT")" \
    "$(date -u +%Y-%m-%d)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
