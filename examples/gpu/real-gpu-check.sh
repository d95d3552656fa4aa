#!/bin/sh
# real-gpu-check.sh: udocker's two NVIDIA paths on a real GPU, against the native run.
#
# Usage: real-gpu-check.sh BUNDLE_DIR IMAGE [WORK_DIR]
#   BUNDLE_DIR  the unpacked bundle: the static `udocker` and `udocker-launch` (plain or .xz-compressed)
#   IMAGE       a small glibc image: a tarball for `udocker load` (docker-save or OCI layout), or a name
#               already in the repository or to pull. Its glibc must not be older than the host's: the
#               benchmark is compiled here, on the host, and runs inside with the image's libc.
#   WORK_DIR    where everything goes (default: a new directory under ${TMPDIR:-/tmp}); left for inspection.
#
# Needs on the host: the NVIDIA driver, nvidia-smi and nvcc (CUDA toolkit). Runs, natively and inside U1 and
# F3 through `udocker-launch --gpu`, once with udocker's own driver discovery and once with a CDI spec written
# by `udocker setup --nvidia --cdi`: `nvidia-smi -L` and a device-to-device cudaMemcpy benchmark. Prints each
# run's bandwidth and its ratio to the native one (the aim: within 2 %). Exit status 0 when every run worked.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 BUNDLE_DIR IMAGE [WORK_DIR]" >&2; exit 2; }
bundle=$1
image=$2
work=${3:-}
if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/udocker-gpu-check.XXXXXX"); fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
log=$work/log
mkdir -p "$log" "$work/bin" "$work/bench" "$work/scratch" "$work/no-cdi" "$work/cdi"
chmod 0700 "$work" "$work/scratch"

for tool in nvidia-smi nvcc awk; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is not on PATH" >&2; exit 1; }
done

# The bundle's programs, decompressed into WORK/bin when they came xz-compressed.
for program in udocker udocker-launch; do
    if [ -x "$bundle/$program" ]; then
        cp "$bundle/$program" "$work/bin/$program"
    elif [ -f "$bundle/$program.xz" ]; then
        xz -dc "$bundle/$program.xz" > "$work/bin/$program"
    else
        echo "error: no $program or $program.xz in $bundle" >&2; exit 1
    fi
    chmod 0755 "$work/bin/$program"
done
udocker=$work/bin/udocker
launch=$work/bin/udocker-launch
# A repository of this check's own, so nothing of the user's is changed.
UDOCKER_DIR=$work/udocker
export UDOCKER_DIR

# The benchmark: REPEAT device-to-device copies of SIZE bytes, timed with CUDA events after a warm-up.
# Bandwidth counts each byte once (read + write would be twice this), in GB/s (10^9 bytes per second).
cat > "$work/bench/d2d.cu" <<'CUDA'
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CHECK(call) do { cudaError_t e = (call); if (e != cudaSuccess) { \
    fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e)); return 1; } } while (0)

int main(void) {
    const size_t size = 512u << 20;   /* 512 MiB */
    const int warmup = 5, repeat = 50;
    int device = 0;
    cudaDeviceProp prop;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaGetDeviceProperties(&prop, device));
    void *src = NULL, *dst = NULL;
    CHECK(cudaMalloc(&src, size));
    CHECK(cudaMalloc(&dst, size));
    CHECK(cudaMemset(src, 1, size));
    for (int i = 0; i < warmup; i++) CHECK(cudaMemcpy(dst, src, size, cudaMemcpyDeviceToDevice));
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaEventRecord(start));
    for (int i = 0; i < repeat; i++) CHECK(cudaMemcpyAsync(dst, src, size, cudaMemcpyDeviceToDevice));
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    printf("device %d %s\n", device, prop.name);
    printf("d2d_GBps %.2f\n", (double)size * repeat / (ms / 1000.0) / 1e9);
    CHECK(cudaFree(src));
    CHECK(cudaFree(dst));
    return 0;
}
CUDA
nvcc -O2 -o "$work/bench/d2d" "$work/bench/d2d.cu"

# The image, by the name `udocker load` prints (its last line) or as given.
if [ -f "$image" ]; then
    name=$("$udocker" load -i "$image" | tail -n 1)
    [ -n "$name" ] || { echo "error: udocker load -i $image loaded no image" >&2; exit 1; }
else
    name=$image
    "$udocker" inspect "$name" >/dev/null 2>&1 || "$udocker" pull "$name"
fi

# The CDI spec from udocker's own discovery.
"$udocker" setup --nvidia --cdi --cdi-spec="$work/cdi/nvidia.yaml"

gbps() { awk '$1 == "d2d_GBps" { print $2 }' "$1"; }
failed=0
results=$work/results
: > "$results"

# One run: LABEL, then the command. Its output goes to LOG/LABEL.out; its bandwidth to RESULTS.
run() {
    label=$1
    shift
    echo "== $label"
    if "$@" > "$log/$label.out" 2> "$log/$label.err"; then
        cat "$log/$label.out"
        value=$(gbps "$log/$label.out")
        if [ -n "$value" ]; then echo "$label $value" >> "$results"; return 0; fi
        echo "   no bandwidth in the output" >&2
    else
        echo "   failed (status $?): see $log/$label.err" >&2
        sed -n '1,5s/^/   /p' "$log/$label.err" >&2
    fi
    failed=1
    echo "$label -" >> "$results"
}

# The benchmark is bound at its own path: F modes pass such a volume through (one at another path would be a
# link in the stage's ROOT, which is read-only).
bench=$work/bench
inside="nvidia-smi -L && '$bench/d2d'"
run native sh -c "$inside"
for mode in U1 F3; do
    # The discovery: no spec anywhere (a site's /etc/cdi/nvidia.yaml would otherwise be taken).
    run "$mode-discovery" env UDOCKER_CDI_SPEC_DIRS="$work/no-cdi" \
        "$launch" --scratch="$work/scratch" --execmode="$mode" --gpu -v "$bench:$bench" "$name" -- sh -c "$inside"
    run "$mode-cdi" \
        "$launch" --scratch="$work/scratch" --execmode="$mode" --gpu --cdi-spec-dir="$work/cdi" -v "$bench:$bench" "$name" -- sh -c "$inside"
done

echo
echo "host: $(hostname)  date: $(date -u +%Y-%m-%dT%H:%MZ)  $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1)"
awk '
    $1 == "native" { native = $2 }
    { label[NR] = $1; value[NR] = $2 }
    END {
        printf "%-14s %10s %14s\n", "run", "D2D GB/s", "inside/native"
        for (i = 1; i <= NR; i++) {
            ratio = (value[i] == "-" || native == "" || native == "-") ? "-" : sprintf("%.4f", value[i] / native)
            verdict = ""
            if (ratio != "-" && label[i] != "native") verdict = (ratio >= 0.98 && ratio <= 1.02) ? "  within 2 %" : "  OUTSIDE 2 %"
            printf "%-14s %10s %14s%s\n", label[i], value[i], ratio, verdict
        }
    }' "$results"
exit "$failed"
