#!/usr/bin/env bash
# The launcher's MPI benchmark (see LaunchBenchmark/main.swift): ping-pong latency and bandwidth natively and
# through udocker-launch per mode, on one node and across two, and start-up of whole steps, on the tests' two-node
# SLURM; then images run mounted (issue 17): cold step start against image size, ping-pong in U1 on the mounted image.
# Writes the tables and the data to OUT (default bench/launch/results) and plots them with gnuplot.
# Needs root (the SLURM daemons), the packages of `make deps`, strace, and gnuplot (installed here when missing).
# BENCH_REPS sets the number of interleaved rounds (default 5); BENCH_PARTS=modes or mounted runs one part only;
# BENCH_CACHE keeps the padded images (~1.2 GB; default /var/tmp/udocker-launch-bench-cache). /dev/fuse is made
# 0666 for the run, as the tests' world does (TestSupport's FuseDevice), and put back at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-$root/bench/launch/results}")
mkdir -p "$out"
command -v gnuplot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >&2

cd "$root"
echo "== building the release binaries (as installed) and the benchmark driver" >&2
make build >&2
swift build --product launch-bench >&2
UDOCKER_TEST_BIN_DIR="$root/.build/release" "$root/.build/debug/launch-bench" "$out"
gnuplot -e "dir='$out'" "$root/bench/launch/plot.gp"
echo "== results in $out (summary.md, mounted.md, pingpong-*.png, coldstart.png)" >&2
