#!/bin/sh
# examples/baremetal/build.sh OUTDIR: cross-build the portable core and this example for a
# Cortex-M4 (-mcpu=cortex-m4 -mthumb -Os) with arm-none-eabi-gcc. Exit 77 when the
# toolchain is missing (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUTDIR}
command -v arm-none-eabi-gcc >/dev/null || { echo "arm-none-eabi-gcc not installed"; exit 77; }
mkdir -p "$out/obj"
CFLAGS="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -std=c11 -ffreestanding -ffunction-sections -fdata-sections -DBL_NO_DOCS
 -Wall -Wextra -Werror -Wconversion -Wsign-conversion -I$top/include"
core=$(ls "$top"/src/model/*.c "$top"/src/codec/*.c "$top"/src/protocols/*.c "$top"/src/engines/*.c 2>/dev/null)
objs=""
for f in $core; do
  o="$out/obj/$(echo "${f#$top/src/}" | tr / _ | sed 's/\.c$/.o/')"
  # shellcheck disable=SC2086
  arm-none-eabi-gcc $CFLAGS -c "$f" -o "$o"
  objs="$objs $o"
done
rm -f "$out/libbmslink_core_m4.a"
# shellcheck disable=SC2086
arm-none-eabi-ar rcs "$out/libbmslink_core_m4.a" $objs
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS -Wno-conversion -c "$here/startup.c" -o "$out/startup.o"
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS -c "$here/main.c" -o "$out/main.o"
# the porting guide's glue (docs/porting.md) must build for the target too
# shellcheck disable=SC2086
arm-none-eabi-gcc $CFLAGS -c "$top/examples/porting/port.c" -o "$out/port.o"
# newlib-nano only supplies memcpy/memset/strlen/strcmp; no malloc, no stdio, no OS is linked
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -nostartfiles -specs=nano.specs -Wl,--gc-sections \
  -Wl,-Map="$out/example.map" -T "$here/link.ld" "$out/startup.o" "$out/main.o" "$out/libbmslink_core_m4.a" \
  -lc -lgcc -o "$out/example.elf"
bad=$(arm-none-eabi-nm "$out/example.elf" | awk '{print $NF}' | grep -xE 'malloc|_malloc_r|free|printf|_printf_r|fopen|_sbrk|_write|_read|sbrk|time|clock_gettime' || true)
[ -z "$bad" ] || { echo "FAIL: the core pulled in hosted symbols: $bad"; exit 1; }
echo "built $out/example.elf"
