#!/usr/bin/env bash
# Soak (not part of CI): a real Trino coordinator + worker on a real Consul agent whose
# Connect CA issues leaves valid for 1 hour (Consul's minimum), run for more than two hours,
# so that every node crosses two natural leaf expiries with nothing restarted by hand except
# the periodic node restarts below, which force new connections and full TLS handshakes.
#
# Every PCC_SOAK_CHECK seconds (default 30): 2 active nodes, and a distributed query whose
# tasks run on the worker. Every PCC_SOAK_RESTART seconds (default 1200) one node restarts,
# alternately worker and coordinator, and must rejoin. Each check prints one line: time,
# the serial and not-after the coordinator presents, RSS and threads of both JVMs.
# Ends with a summary (checks, failures, leaf rotations seen, start-up leaves expired) and
# exits non-zero on any failure.
#
# Usage: bash tests/soak/trino-leaf-ttl.sh        (PCC_SOAK_DURATION seconds, default 7800)
# Needs the plugin zip (gradle assemble) and the tools tests/run-all.sh sets up.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tests/scripts/setup.sh"
export CONSUL_BIN="${CONSUL_BIN:-$(bash "$root/tests/scripts/ensure-consul.sh")}"
PCC_PLUGIN_ZIP="${PCC_PLUGIN_ZIP:-$(ls "$root"/build/distributions/presto-consul-connect-*.zip 2>/dev/null | head -1)}"
[ -f "$PCC_PLUGIN_ZIP" ] || { echo "no plugin zip: run gradle assemble first" >&2; exit 2; }
export PCC_PLUGIN_ZIP
source "$root/tests/trino/lib.sh"
DURATION="${PCC_SOAK_DURATION:-7800}"
CHECK="${PCC_SOAK_CHECK:-30}"
RESTART="${PCC_SOAK_RESTART:-1200}"

pcc_init
W="$PCC_WORK"
consul_start -hcl 'connect { enabled = true ca_config { leaf_cert_ttl = "1h" } }'
consul_intention web trino allow
consul_leaf_pem web "$W/web.pem"
ttl="$(curl -fsS "$CONSUL_HTTP/v1/connect/ca/configuration" | jq -r '.Config.LeafCertTTL')"
log "Consul leaf TTL: $ttl"

trino_node_init "$W/coord" coordinator
trino_auth_certificate "$W/coord"
trino_node_init "$W/worker" worker "$W/coord"
trino_auth_certificate "$W/worker"
trino_node_start "$W/coord"
trino_node_start "$W/worker"
trino_wait_ready "$W/coord"
trino_wait_ready "$W/worker"

presented() { # PORT: "serial notAfter"
  openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null \
    | openssl x509 -noout -serial -enddate 2>/dev/null | sed 's/^serial=//; s/^notAfter=//' | paste -sd' '
}
jvm() { # DIR: "rssMB/threads"
  local pid; pid="$(cat "$1/pid")"
  echo "$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) / 1024 ))MB/$(ls "/proc/$pid/task" 2>/dev/null | wc -l)t"
}
query() {
  trino_query "$W/coord" "$W/web.pem" web "$1" 2>>"$W/cli.err"
}

start=$(date +%s)
checks=0 failures=0 restarts=0 next_restart=$(( start + RESTART )) restart_worker=1
declare -A serials=()
first_not_after="$(presented "$(cat "$W/coord/port")" | cut -d' ' -f2-)"
log "start-up leaf of the coordinator expires $first_not_after"
while [ $(( $(date +%s) - start )) -lt "$DURATION" ]; do
  # The client's own leaf lives an hour too: take the agent's current one for every check
  # (the agent renews it), as a real client's own Connect integration would.
  consul_leaf_pem web "$W/web.pem"
  ok=1
  nodes="$(query "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" || true)"
  [ "$nodes" = 2 ] || ok=0
  out="$(query "SELECT count(*), sum(x) FROM UNNEST(sequence(1, 10000)) AS t(x)" || true)"
  [ "$out" = "10000,50005000" ] || ok=0
  checks=$((checks + 1))
  [ "$ok" = 1 ] || failures=$((failures + 1))
  p="$(presented "$(cat "$W/coord/port")")"
  serials["${p%% *}"]=1
  log "check $checks: $([ "$ok" = 1 ] && echo ok || echo "FAILED (nodes='$nodes' out='$out')") serial/notAfter $p coord $(jvm "$W/coord") worker $(jvm "$W/worker")"
  if [ "$(date +%s)" -ge "$next_restart" ]; then
    if [ "$restart_worker" = 1 ]; then node=worker; else node=coord; fi
    restart_worker=$((1 - restart_worker))
    log "restarting $node (forces new connections and full handshakes)"
    trino_node_stop "$W/$node"; trino_node_start "$W/$node"
    trino_wait_ready "$W/$node" 300 || failures=$((failures + 1))
    restarts=$((restarts + 1))
    next_restart=$(( $(date +%s) + RESTART ))
  fi
  sleep "$CHECK"
done
expired=0
[ "$(date +%s)" -gt "$(date -d "$first_not_after" +%s)" ] && expired=1
log "soak: $(( $(date +%s) - start )) s, $checks checks, $failures failures, $restarts node restarts, ${#serials[@]} distinct coordinator serials, start-up leaf expired: $expired"
[ "$failures" = 0 ]
