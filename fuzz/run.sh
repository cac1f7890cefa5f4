#!/bin/sh
# fuzz/run.sh BUILD_DIR [TOTAL_SECONDS]: run every fuzz_* target of BUILD_DIR, sharing the
# time budget, each from its seed corpus in fuzz/corpus/<target>. Fails on the first crash
# (the crashing input is left as crash-* in the build dir: turn it into a unit vector).
set -eu
build=$(cd "${1:?usage: fuzz/run.sh BUILD_DIR [TOTAL_SECONDS]}" && pwd)
total=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
targets=$(find "$build/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
n=$(echo "$targets" | wc -w)
[ "$n" -gt 0 ] || { echo "fuzz/run.sh: no fuzz targets in $build/fuzz" >&2; exit 1; }
each=$((total / n)); [ "$each" -ge 5 ] || each=5
for t in $targets; do
  name=$(basename "$t" | sed 's/^fuzz_//')
  work=$(mktemp -d)
  echo "fuzz: $name for ${each}s"
  (cd "$build" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=1 \
      "$t" -max_total_time="$each" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
      "$work" "$here/corpus/$name" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|crash-|Done' || true)
  rm -rf "$work"
  if ls "$build"/crash-* "$build"/timeout-* "$build"/leak-* >/dev/null 2>&1; then
    echo "fuzz: $name found a failing input:" >&2; ls "$build"/crash-* "$build"/timeout-* "$build"/leak-* 2>/dev/null >&2
    exit 1
  fi
done
echo "fuzz: $n targets, no crashes"
