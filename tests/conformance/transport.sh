#!/bin/sh
# transport.sh virtual|slcan|socketcan BMSLINK CONFORM: run-all.sh over one transport through
# ../shared/tools/can-transport.sh, or exit 77 (skipped) naming what is missing.
set -u
t=$1 B=$2 C=$3
here=$(cd "$(dirname "$0")" && pwd)
SHARED=${BMSLINK_SHARED:-$(cd "$here/../../../shared" && pwd)}
[ -x "$SHARED/tools/can-transport.sh" ] || { echo "skip: $SHARED/tools/can-transport.sh not found (set BMSLINK_SHARED_DIR)"; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "skip: $t needs $1 ($2)"; exit 77; }; }
/usr/bin/python3 -c 'import can' 2>/dev/null || { echo "skip: python3-can is not installed (tools/install-peers.sh)"; exit 77; }
case $t in
  slcan) need socat "tools/install-peers.sh" ;;
  socketcan)
    need qemu-system-x86_64 "tools/install-peers.sh --vm"
    need candump "can-utils"
    [ -x /bin/busybox ] || { echo "skip: socketcan needs busybox-static (tools/install-peers.sh --vm)"; exit 77; } ;;
esac
if [ "$t" = socketcan ]; then
  # The VM sees the host's / read-only but with an empty /tmp, and the work directory
  # read-write: stage what the suite runs into the work directory so it is there
  # wherever the checkout and the build live.
  stage=$PWD/conformance-stage
  rm -rf "$stage"; mkdir -p "$stage/data"
  cp "$B" "$stage/bmslink"; cp "$C" "$stage/bl_conform"
  cp "$here"/run-all.sh "$here"/same_frames.py "$here"/same_decode.py "$stage/"; cp "$here"/data/* "$stage/data/"
  here=$stage B=$stage/bmslink C=$stage/bl_conform
fi
exec "$SHARED/tools/can-transport.sh" "$t" -- sh "$here/run-all.sh" "$B" "$C" "$SHARED"
