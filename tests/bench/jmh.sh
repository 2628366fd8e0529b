#!/usr/bin/env bash
# JMH benchmarks of authentication through Java (java/src/jmh): a cached allow on one and
# two threads, a cached deny, a cold decision with each decision source, and a plain HTTP
# authorize call, against a real Consul dev agent. SampleTime: percentiles of single calls.
# Prints JMH's table, then p50/p99 per benchmark and the ratios between the paths.
#
#   bash tests/bench/jmh.sh                 # everything, one fork (about 4 minutes)
#   bash tests/bench/jmh.sh cachedAllow     # JMH benchmark regexps
#   JMH_OPTS='-f 3 -i 10' bash tests/bench/jmh.sh   # more forks / iterations
#
# Results: build/jmh/results.json (JMH's JSON), build/jmh/summary.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tests/scripts/setup.sh
export CONSUL_BIN="$(bash tests/scripts/ensure-consul.sh)"
mkdir -p build/jmh
opts="${JMH_OPTS:--f 1 -wi 3 -w 2s -i 5 -r 2s}"
gradle --no-daemon --console=plain -q jmh \
  -Pjmh="$opts -rf json -rff $root/build/jmh/results.json $*"
python3 - "$root/build/jmh/results.json" <<'PY' | tee build/jmh/summary.txt
import json, sys
runs = json.load(open(sys.argv[1]))
rows = {}
print(f"{'benchmark':<42} {'threads':>7} {'p50 ns':>10} {'p90 ns':>10} {'p99 ns':>10} {'p99.9 ns':>10} {'samples':>9}")
for r in runs:
    name = r["benchmark"].rsplit(".", 1)[1]
    params = r.get("params") or {}
    if params:
        name += "[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"
    p = r["primaryMetric"]["scorePercentiles"]
    # rawDataHistogram: per fork, per iteration, [value, count] pairs.
    samples = sum(count for fork in r["primaryMetric"].get("rawDataHistogram", [])
                  for iteration in fork for _, count in iteration)
    rows[name] = p
    print(f"{name:<42} {r['threads']:>7} {p['50.0']:>10.0f} {p['90.0']:>10.0f} {p['99.0']:>10.0f} {p['99.9']:>10.0f} {samples:>9}")
def ratio(a, b, q="50.0"):
    if a in rows and b in rows and rows[a][q] > 0:
        print(f"  {b} / {a} at p{q[:-2]}: {rows[b][q] / rows[a][q]:.2f}x")
print("ratios:")
ratio("cachedAllow", "cachedAllowTwoThreads")
ratio("cold[decisions=local]", "cold[decisions=agent]")
ratio("cold[decisions=local]", "cold[decisions=agent]", "99.0")
ratio("cold[decisions=local]", "plainHttpAuthorize")
ratio("cold[decisions=agent]", "plainHttpAuthorize")
ratio("cachedAllow", "plainHttpAuthorize")
PY
