#!/bin/sh
# Writes a docker-save tarball `sample:latest` built from Debian's busybox-static and greeting.sh.
# Usage: build-image.sh OUT.tar
set -eu
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "Error: $BUSYBOX not found: apt-get install busybox-static" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ROOT="$TMP/rootfs"
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/home"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
install -m 0755 "$HERE/greeting.sh" "$ROOT/bin/greeting"

IMG="$TMP/image"
mkdir -p "$IMG"
tar --numeric-owner --owner=0 --group=0 -C "$ROOT" -cf "$IMG/layer.tar" .
LAYER=$(sha256sum "$IMG/layer.tar" | cut -d' ' -f1)
mkdir "$IMG/$LAYER" && mv "$IMG/layer.tar" "$IMG/$LAYER/layer.tar"
cat > "$IMG/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","GREETING=built from busybox-static, loaded without network"],"Cmd":["/bin/greeting"],"WorkingDir":"/tmp"},"rootfs":{"type":"layers","diff_ids":["sha256:$LAYER"]}}
JSON
CONFIG=$(sha256sum "$IMG/config.json" | cut -d' ' -f1)
mv "$IMG/config.json" "$IMG/$CONFIG.json"
printf '[{"Config":"%s.json","RepoTags":["sample:latest"],"Layers":["%s/layer.tar"]}]\n' "$CONFIG" "$LAYER" > "$IMG/manifest.json"
tar -C "$IMG" -cf "$OUT" .
