#!/usr/bin/env bash
# Runs every test of the project on a fresh or warm machine:
#   formatting and lint (cargo fmt --check, cargo clippy -D warnings),
#   cargo tests (unit, real Consul integration, C ABI),
#   the cargo-fuzz targets, a few seconds each (tests/fuzz.sh),
#   the Gradle build (native library → jar → plugin zip) with its JUnit tests,
#   the end-to-end tests with real Trino (tests/trino/e2e-mtls.sh, e2e-expiry.sh, and
#   e2e-identity.sh on Trino 435, 476 and 483, the supported release range, and
#   e2e-topology.sh on a production-shaped Consul).
# Ends with a summary line "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)

source tests/scripts/setup.sh
export CONSUL_BIN="$(bash tests/scripts/ensure-consul.sh)"
echo "== Consul: $("$CONSUL_BIN" version | head -1)"

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets --all-features -- -D warnings"
cargo clippy --all-targets --all-features --quiet -- -D warnings

echo "== cargo test"
set +e
cargo test --all-targets --no-fail-fast 2>&1 | tee "$logs/cargo.log"
cargo_rc=${PIPESTATUS[0]}
set -e
cargo_passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) n += $i } END { print n + 0 }' "$logs/cargo.log")
cargo_failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) n += $i } END { print n + 0 }' "$logs/cargo.log")

# Fuzzing: every cargo-fuzz target of fuzz/ for 12 s (about two minutes with a warm build);
# long runs: bash tests/fuzz.sh 3600.
echo "== fuzz: tests/fuzz.sh 12"
set +e
bash tests/fuzz.sh 12 2>&1 | tee "$logs/fuzz.log"
fuzz_rc=${PIPESTATUS[0]}
set -e
fuzz_passed=$(sed -n 's/^fuzz: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$logs/fuzz.log" | tail -1)
fuzz_failed=$(sed -n 's/^fuzz: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$logs/fuzz.log" | tail -1)
if [ "$fuzz_rc" -ne 0 ] && [ "${fuzz_failed:-0}" -eq 0 ]; then fuzz_failed=1; fi

echo "== gradle build (cargo release build, jar, plugin zip, JUnit)"
set +e
# cleanTest: the JUnit tests run every time, not only when their inputs changed.
gradle --no-daemon --console=plain cleanTest cleanTestNativeHooks build 2>&1 | tee "$logs/gradle.log"
gradle_rc=${PIPESTATUS[0]}
set -e
read -r junit_tests junit_failed <<<"$(python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
tests = failed = 0
for f in glob.glob('build/test-results/*/*.xml'):
    r = ET.parse(f).getroot()
    tests += int(r.get('tests', 0)) - int(r.get('skipped', 0))
    failed += int(r.get('failures', 0)) + int(r.get('errors', 0))
print(tests, failed)
PY
)"
junit_passed=$((junit_tests - junit_failed))

zip=$(ls "$root"/build/distributions/presto-consul-connect-*.zip 2>/dev/null | head -1 || true)

# End to end: a real Trino coordinator + worker with the plugin zip installed as the
# README tells operators, Consul-issued mTLS, intentions, rotation (e2e-mtls.sh); and
# leaves that live minutes, expire and are replaced, a CA whose old root is removed, an
# impostor on a node's address (e2e-expiry.sh, test CA from the test-ca example); users,
# groups, access rules by group and 401 refusals on the oldest supported Trino (435, JDK
# 17), on 476 and on the newest (483, JDK 25) (e2e-identity.sh; 435 and 483 are assembled
# from Maven Central on first use, minutes on a fresh machine, cached after); a
# coordinator and a worker on a production-shaped Consul: three servers, a client agent per
# node, ACLs with default deny, agent TLS and a unix socket, a token file per node, and
# faults (agents stopped, a token revoked and replaced, a leader change during a CA
# rotation) (e2e-topology.sh, about 2.5 minutes).
e2e_passed=0 e2e_failed=0 e2e_times=()
cargo build --quiet --example test-ca
for e2e in e2e-mtls e2e-expiry "e2e-identity 435" "e2e-identity 476" "e2e-identity 483" e2e-topology; do
  read -r e2e_script e2e_arg <<<"$e2e"
  echo "== end-to-end: tests/trino/$e2e_script.sh${e2e_arg:+ $e2e_arg}"
  e2e_start=$(date +%s)
  if [ -n "$zip" ] && PCC_PLUGIN_ZIP="$zip" PCC_TEST_CA="$root/target/debug/examples/test-ca" \
     bash "tests/trino/$e2e_script.sh" ${e2e_arg:+"$e2e_arg"}; then
    e2e_passed=$((e2e_passed + 1)) e2e_result=PASS
  else
    e2e_failed=$((e2e_failed + 1)) e2e_result=FAIL
  fi
  e2e_times+=("  $e2e_result tests/trino/$e2e_script.sh${e2e_arg:+ $e2e_arg} ($(( $(date +%s) - e2e_start ))s)")
done
echo
echo "== summary ($(( $(date +%s) - start ))s)"
echo "cargo: ${cargo_passed:-0} passed, ${cargo_failed:-0} failed"
echo "fuzz: ${fuzz_passed:-0} passed, ${fuzz_failed:-0} failed"
echo "junit: ${junit_passed} passed, ${junit_failed} failed"
echo "end-to-end: ${e2e_passed} passed, ${e2e_failed} failed"
printf '%s\n' "${e2e_times[@]}"
echo "plugin zip: ${zip:-MISSING}"
total_passed=$(( ${cargo_passed:-0} + ${fuzz_passed:-0} + junit_passed + e2e_passed ))
total_failed=$(( ${cargo_failed:-0} + ${fuzz_failed:-0} + junit_failed + e2e_failed ))
echo "${total_passed} passed, ${total_failed} failed"
if [ "$cargo_rc" -ne 0 ] || [ "$fuzz_rc" -ne 0 ] || [ "$gradle_rc" -ne 0 ] || [ -z "$zip" ] || [ "$total_failed" -ne 0 ] \
   || [ "${cargo_passed:-0}" -eq 0 ] || [ "$junit_passed" -eq 0 ]; then
  echo "FAILED (cargo rc=$cargo_rc, fuzz rc=$fuzz_rc, gradle rc=$gradle_rc)"
  exit 1
fi
