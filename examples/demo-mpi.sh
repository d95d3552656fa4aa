#!/bin/sh
# make demo, the launcher's part: one MPI job of two ranks on this machine, each rank started by udocker-launch in
# a Debian 12 container with Open MPI, with nothing but Debian packages. The image is made once by mmdebstrap and
# kept in CACHE with the udocker repository it is imported into and examples/mpi/hello built on the host (so a
# second run starts at the job); each run stages into a fresh scratch directory, so one rank stages, one reuses.
# Usage: examples/demo-mpi.sh PATH/TO/udocker PATH/TO/udocker-launch CACHE_DIR
set -eu
UDOCKER=$(realpath "$1")
LAUNCH=$(realpath "$2")
mkdir -p "$3"
CACHE=$(realpath "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE=demo/debian-mpi:12
for tool in mmdebstrap mpirun mpicc.openmpi; do
    command -v "$tool" >/dev/null || { echo "Error: $tool not found: make deps installs it" >&2; exit 1; }
done

# udocker and its launcher refuse root unless told otherwise, as Open MPI's mpirun does.
ROOTFLAG="" MPIROOT=""
if [ "$(id -u)" = 0 ]; then ROOTFLAG="--allow-root" MPIROOT="--allow-run-as-root"; fi
export UDOCKER_DIR="$CACHE/repo"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/udocker-demo-scratch.XXXXXX")
# A finished stage is read-only to the jobs run from it: `clean` is what removes it.
trap 'status=$?; "$LAUNCH" $ROOTFLAG --scratch="$SCRATCH" clean >/dev/null; rm -rf "$SCRATCH"; exit $status' EXIT

ROOTFS="$CACHE/bookworm-openmpi.tar"
if [ ! -s "$ROOTFS" ]; then
    echo "== mmdebstrap: Debian 12 minbase with Open MPI (once; kept in $CACHE)"
    MODE=""
    [ "$(id -u)" = 0 ] || MODE="--mode=unshare"
    # shellcheck disable=SC2086  # MODE is one word or none
    mmdebstrap --quiet --variant=minbase $MODE --include=libopenmpi3,openmpi-bin \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$ROOTFS.partial.tar"
    mv "$ROOTFS.partial.tar" "$ROOTFS"
fi
if ! "$UDOCKER" $ROOTFLAG images | grep -q "^$IMAGE\b"; then
    echo "== udocker import bookworm-openmpi.tar $IMAGE (once)"
    "$UDOCKER" $ROOTFLAG import "$ROOTFS" "$IMAGE"
fi
HELLO="$CACHE/hello"
if [ ! -x "$HELLO" ] || [ "$HERE/mpi/hello.c" -nt "$HELLO" ]; then
    echo "== mpicc.openmpi -o hello examples/mpi/hello.c (on the host; the ranks see it with -v)"
    mpicc.openmpi -O2 -o "$HELLO.tmp" "$HERE/mpi/hello.c"
    mv "$HELLO.tmp" "$HELLO"
fi

echo "== udocker-launch --dry-run $IMAGE -- hello   (what a rank would do: nothing is staged or mounted)"
# (Into a file first: a pipe would hide the command's exit status from set -e.)
"$LAUNCH" $ROOTFLAG --scratch="$SCRATCH" --dry-run -v "$CACHE:$CACHE" "$IMAGE" -- "$HELLO" > "$SCRATCH/plan"
grep -v '^exec: ' "$SCRATCH/plan"

echo "== mpirun -np 2 udocker-launch $IMAGE -- hello"
mpirun $MPIROOT --oversubscribe -np 2 "$LAUNCH" $ROOTFLAG --scratch="$SCRATCH" -v "$CACHE:$CACHE" "$IMAGE" -- "$HELLO" > "$SCRATCH/hello"
sort "$SCRATCH/hello"

echo "== the node's stage log: one rank staged the image (mounted where FUSE works, else extracted), the other reused it"
LOG="$SCRATCH/udocker-$(id -u)/stage.log"
cut -d' ' -f2- "$LOG"
[ "$(grep -c ' staged ' "$LOG")" = 1 ] && [ "$(grep -c ' reused ' "$LOG")" = 1 ] || { echo "Error: expected one staged and one reused line" >&2; exit 1; }
