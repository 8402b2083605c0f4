#!/usr/bin/env bash
# Runs the end-to-end suite (tests/e2e: headless Chromium against a real `scrm demo`-style server) RUNS
# times while `stress --cpu CPUS` keeps every core busy, and prints one line per run and a total: the e2e
# tests wait for causes, not for time, so a loaded machine may slow them but must not fail them.
#
#   benchmarks/stress_e2e.sh [RUNS=10] [CPUS=2]     (needs Debian's `stress`: apt-get install stress)
set -uo pipefail
runs=${1:-10}
cpus=${2:-2}
command -v stress >/dev/null || { echo "stress is not installed (apt-get install stress)" >&2; exit 2; }
stress --cpu "$cpus" >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
failed=0
printf '%-5s %-8s %8s\n' run result seconds
for n in $(seq 1 "$runs"); do
  start=$(date +%s)
  if python -m pytest -q -p no:cacheprovider tests/e2e >"/tmp/stress-e2e-$n.log" 2>&1; then result=passed; else result=FAILED; failed=$((failed + 1)); fi
  printf '%-5s %-8s %8s\n' "$n" "$result" "$(( $(date +%s) - start ))"
done
echo "$((runs - failed))/$runs runs passed under stress --cpu $cpus (logs: /tmp/stress-e2e-N.log)"
[ "$failed" -eq 0 ]
