#!/bin/sh
# examples/baremetal/run.sh OUTDIR: build, then run the example in qemu-system-arm
# (mps2-an386, Cortex-M4) with semihosting. Exit 77 when the toolchain or qemu is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUTDIR}
sh "$here/build.sh" "$out" || exit $?
command -v qemu-system-arm >/dev/null || { echo "qemu-system-arm not installed"; exit 77; }
timeout 60 qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$out/example.elf"
