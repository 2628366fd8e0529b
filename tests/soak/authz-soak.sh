#!/usr/bin/env bash
# Soak of the authorizer (not part of CI): 64 threads authenticate through the real Trino
# path (ConnectAuthenticatorFactory -> CertificateAuthenticator.authenticate) against a real
# Consul dev agent, with allowed (web), flipping (api), always-denied (evil) and invalid
# identities (a leaf of another Consul, a self-signed leaf naming our SPIFFE id, a web leaf
# padded with an unrelated certificate, an expired leaf signed by the current root, a leaf
# signed by a fake CA named as the root), while the api -> trino intention flips every
# 5-10 s and the CA rotates (a new EC P-256 root made with keytool) every 120 s. An oracle
# checks every answer; any false allow fails the run. Every 30 s: decisions/s, allow/deny per
# class, false allows, latency, stalls (> 1 s), RSS and threads; then a summary line
# "AUTHZ-SOAK SUMMARY: PASS|FAIL ...". Exit status 0 only on PASS.
#
# Usage: bash tests/soak/authz-soak.sh [minutes]      (default 60)
# Tuning (environment): PCC_AUTHZ_SOAK_THREADS (64), PCC_AUTHZ_SOAK_GRACE_MS (2000),
# PCC_AUTHZ_SOAK_ROTATE_S (120), PCC_AUTHZ_SOAK_REPORT_S (30).
# Code: java/src/test/java/io/consulconnect/soak/ (run by `gradle benchmark -Pbench=AuthzSoak`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tests/scripts/setup.sh"
export CONSUL_BIN="${CONSUL_BIN:-$(bash "$root/tests/scripts/ensure-consul.sh")}"
export PCC_AUTHZ_SOAK_MINUTES="${1:-${PCC_AUTHZ_SOAK_MINUTES:-60}}"
cd "$root"

# Build first (jar with the native library, test classes). Another build of this project
# may hold Gradle's locks: wait and retry rather than fail.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if out="$(gradle --no-daemon --console=plain -q jar testClasses 2>&1)"; then
    break
  fi
  if [ "$attempt" -lt 10 ] && grep -qiE 'lock|busy|in use by another' <<<"$out"; then
    echo "authz-soak: gradle is busy (another build), retrying in 30 s" >&2
    sleep 30
    continue
  fi
  echo "$out" >&2
  echo "authz-soak: build failed" >&2
  exit 2
done

echo "authz-soak: $PCC_AUTHZ_SOAK_MINUTES minutes, started $(date -Is)"
exec gradle --no-daemon --console=plain -q benchmark -Pbench=AuthzSoak
