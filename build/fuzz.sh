#!/usr/bin/env bash
# Runs every fuzz target under internal/ for FUZZTIME (default 5s) each.
#
# Go 1.26's fuzz coordinator can end a duration-bounded run with a bare
# "context deadline exceeded" failure when -fuzztime expires while a worker is
# mid-call (golang/go#75804, fixed in Go 1.27). That failure writes no failing
# input. A target that fails that way, and only that way, is run once more
# with a count bound (-fuzztime Nx, the executions the first run reached),
# which has no deadline to race. Any other failure, or one that wrote a
# failing input under testdata/fuzz/, fails at once.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for pkg in $($GO list ./internal/...); do
  for t in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $t"
    if $GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$out"; then
      continue
    fi
    if grep -q 'Failing input written' "$out" ||
      [ "$(grep -c -- '^    ' "$out")" != 1 ] ||
      ! grep -q '^    context deadline exceeded$' "$out"; then
      exit 1
    fi
    n=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
    [ "${n:-0}" -gt 0 ] || n=1000
    echo "fuzz $t: Go's fuzz coordinator hit its deadline race (golang/go#75804) and wrote no failing input; running it again for ${n} executions"
    $GO test -run '^$' -fuzz "^$t\$" -fuzztime "${n}x" "$pkg" || exit 1
  done
done
