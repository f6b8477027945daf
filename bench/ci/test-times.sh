#!/usr/bin/env bash
# Wall and CPU time of test files in two checkouts, alternating A and B so that both see the same machine:
#
#   bench/ci/test-times.sh BEFORE_DIR AFTER_DIR RUNS FILE...
#   e.g. bench/ci/test-times.sh /tmp/pinger-before . 2 test/lab/stats-loss.test.ts test/lab/probes.test.ts
#
# Each checkout needs its node_modules and built addons (npm ci). Prints one line per run and then the median per
# file and checkout: wall seconds (/usr/bin/time), CPU seconds of the whole vitest process tree (user + sys), and
# the vitest-reported duration. Runs as root (the lab files need it). A failed run is reported and kept out of the
# medians.
set -euo pipefail
if [ "$#" -lt 4 ]; then
  echo "usage: $0 BEFORE_DIR AFTER_DIR RUNS FILE..." >&2
  exit 2
fi
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
runs=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() { # dir file tag
  local log="$out/log" time="$out/time"
  if (cd "$1" && /usr/bin/time -f '%e %U %S' -o "$time" npx vitest run "$2" >"$log" 2>&1); then
    local duration
    duration=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/^ *Duration *\([0-9.]*\)s.*/\1/p')
    read -r wall user sys <"$time"
    echo "$3 $2 $wall $(echo "$user + $sys" | bc) $duration" | tee -a "$out/rows"
  else
    echo "$3 $2 FAILED (see a rerun for why)"
  fi
}

for ((i = 1; i <= runs; i++)); do
  for file in "$@"; do
    measure "$before" "$file" before
    measure "$after" "$file" after
  done
done

echo
echo "median over $runs runs: tag file wall_s cpu_s vitest_duration_s"
for file in "$@"; do
  for tag in before after; do
    grep -F "$tag $file " "$out/rows" 2>/dev/null | awk -v t="$tag" -v f="$file" '
      { w[NR] = $3; c[NR] = $4; d[NR] = $5 }
      function median(a, n,   i, j, x) {
        for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      END { if (NR) printf "%s %s %.1f %.1f %.1f\n", t, f, median(w, NR), median(c, NR), median(d, NR) }'
  done
done
