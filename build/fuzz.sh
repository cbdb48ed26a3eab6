#!/usr/bin/env bash
# Runs every fuzz target under internal/ for FUZZTIME (default 2s) each.
#
# Go 1.26's fuzz coordinator can end a duration-bounded run with a bare
# "context deadline exceeded" failure when -fuzztime expires while a worker is
# mid-call (golang/go#75804, fixed in Go 1.27). A target that fails that way
# and only that way -- no other failure line, no input being minimised, no new
# file under its testdata/fuzz/ -- is run once more with a count bound
# (-fuzztime Nx, the executions the first run reached), which has no deadline
# to race. Any other failure fails at once.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-2s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

corpus() { ls "$1/testdata/fuzz/$2" 2>/dev/null | sort; }

pkgs=$($GO list -f '{{.ImportPath}} {{.Dir}}' ./internal/...) || exit 1
while read -r pkg dir; do
  # The targets, read from the source: go test -list would build a test
  # binary of every package only to list them.
  targets=$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go 2>/dev/null | sort -u)
  for t in $targets; do
    echo "fuzz $pkg $t"
    before=$(corpus "$dir" "$t")
    if $GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$out"; then
      continue
    fi
    if grep -q -e 'Failing input written' -e '^fuzz: minimizing' "$out" ||
      [ "$(grep -c -- '^    ' "$out")" != 1 ] ||
      ! grep -q '^    context deadline exceeded$' "$out" ||
      [ "$(corpus "$dir" "$t")" != "$before" ]; then
      exit 1
    fi
    n=$(grep -o 'execs: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
    [ "${n:-0}" -gt 0 ] || n=1000
    echo "fuzz $t: Go's fuzz coordinator hit its deadline race (golang/go#75804) and wrote no failing input; running it again for ${n} executions"
    $GO test -run '^$' -fuzz "^$t\$" -fuzztime "${n}x" "$pkg" || exit 1
  done
done <<<"$pkgs"
