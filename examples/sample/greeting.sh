#!/bin/sh
# The sample image's command: proves the container runs its own userland with the caller's identity.
echo "Hello from a udocker-swift container!"
echo "  running: $(busybox | head -n 1 | cut -d' ' -f1-2) as uid $(id -u) in $(pwd)"
echo "  image says: $GREETING"
