#!/bin/sh
# The portable core (model, codec, protocols, engines) compiled -ffreestanding must not
# need the hosted C library: no malloc, no stdio, no OS. Only the few memory/string
# routines every freestanding toolchain provides are allowed.
set -eu
allowed='^(memcpy|memset|memmove|memcmp|memchr|strlen|strcmp|strncmp|strchr)$'
defined=$(nm --defined-only "$@" | awk 'NF == 3 { print $3 }' | sort -u)
needed=$(nm -u "$@" | awk '$1 == "U" { print $2 }' | sort -u)
external=$(printf '%s\n' "$needed" | grep -vxF "$defined" || true)
bad=$(printf '%s\n' "$external" | grep -Ev "$allowed" | grep . || true)
if [ -n "$bad" ]; then
  echo "FAIL: the freestanding core needs hosted symbols:"; echo "$bad" | sed 's/^/  /'
  exit 1
fi
echo "freestanding core: $# objects; external symbols: $(echo $external)"
