#!/bin/sh
# make demo: builds a small image from Debian's busybox-static (no network), then load -> create -> run; then
# the launcher's part, two MPI ranks in a Debian 12 container (demo-mpi.sh, its image kept in CACHE_DIR).
# Usage: examples/demo.sh PATH/TO/udocker PATH/TO/udocker-launch CACHE_DIR
set -eu
UDOCKER=$(realpath "${1:-.build/release/udocker}")
LAUNCH=${2:-$(dirname "$UDOCKER")/udocker-launch}
CACHE=${3:-$(dirname "$UDOCKER")/demo-cache}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/udocker-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

"$HERE/sample/build-image.sh" "$WORK/sample.tar"

# udocker refuses root unless told otherwise; the demo is often run by root on a fresh machine.
ROOTFLAG=""
[ "$(id -u)" = 0 ] && ROOTFLAG="--allow-root"
export UDOCKER_DIR="$WORK/repo"

echo "==== udocker: load an image, create a container, run it"
echo "== udocker load -i sample.tar"
"$UDOCKER" $ROOTFLAG load -i "$WORK/sample.tar"
echo "== udocker images"
"$UDOCKER" $ROOTFLAG images
echo "== udocker create --name=demo sample:latest"
"$UDOCKER" $ROOTFLAG create --name=demo sample:latest
echo "== udocker run demo"
"$UDOCKER" $ROOTFLAG run demo

echo
echo "==== the launcher: one MPI job of two ranks on this machine"
"$HERE/demo-mpi.sh" "$UDOCKER" "$LAUNCH" "$CACHE"
