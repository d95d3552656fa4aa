#!/bin/sh
# make demo: builds a small image from Debian's busybox-static (no network), then load -> create -> run.
# Usage: examples/demo.sh PATH/TO/udocker
set -eu
UDOCKER=$(realpath "${1:-.build/release/udocker}")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/udocker-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

"$HERE/sample/build-image.sh" "$WORK/sample.tar"

# udocker refuses root unless told otherwise; the demo is often run by root on a fresh machine.
ROOTFLAG=""
[ "$(id -u)" = 0 ] && ROOTFLAG="--allow-root"
export UDOCKER_DIR="$WORK/repo"

echo "== udocker load -i sample.tar"
"$UDOCKER" $ROOTFLAG load -i "$WORK/sample.tar"
echo "== udocker images"
"$UDOCKER" $ROOTFLAG images
echo "== udocker create --name=demo sample:latest"
"$UDOCKER" $ROOTFLAG create --name=demo sample:latest
echo "== udocker run demo"
"$UDOCKER" $ROOTFLAG run demo
