#!/usr/bin/env bash
# End-to-end across the boundaries that broke Trino's internal traffic before the JVM-level
# part: a real Trino coordinator and worker whose identities come from PEM files signed by a
# test CA (the files source), with leaves that live for minutes.
#
#   1. both nodes start on leaf A (lifetime PCC_LEAF_LIFE, default 150 s); 2 active nodes;
#   2. leaf B is written at the source: the time until the coordinator's TLS server presents
#      it, and the first internal client handshake that presents it (server log), are reported;
#   3. leaf A expires; queries keep running; then the worker is restarted, which forces new
#      connections and full handshakes both ways: it rejoins and runs tasks (with internal
#      clients that kept their start-up leaf, this is where the cluster fell apart);
#   4. CA rotation: CA2 is added, every leaf re-issued by CA2, then CA1 is removed from the
#      roots: a client leaf of CA1 is refused from then on; the coordinator is restarted and
#      the worker (started on a CA1 leaf) rejoins it, queries run on it;
#   5. an impostor holding a valid leaf of CA2 for service `web` answers on the worker's
#      address: the coordinator's internal clients (host-name verification on) refuse it
#      and send it no request; an impostor with a `trino` leaf gets requests (control).
# Every node: plugin zip in plugin/, its jar as -javaagent, host-name verification on.
# Usage: PCC_PLUGIN_ZIP=… PCC_TEST_CA=target/debug/examples/test-ca bash tests/trino/e2e-expiry.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
TEST_CA="${PCC_TEST_CA:?PCC_TEST_CA must name the test-ca helper (cargo build --example test-ca)}"
LEAF_LIFE="${PCC_LEAF_LIFE:-150}"

step "prepare (Trino, CLI, Consul)"
pcc_init
trap pcc_on_fail EXIT
W="$PCC_WORK"
S="$W/source"    # what "another tool" writes: the files source reads it
mkdir -p "$S"

step "start Consul (authorization only: identities come from the test CA's files)"
consul_start
consul_intention web trino allow
td="$(curl -fsS "$CONSUL_HTTP/v1/agent/connect/ca/roots" | jq -r .TrustDomain)"

# leaf NODE CA SECONDS: a new trino leaf for NODE (coord|worker) from CA, into the source.
leaf() { "$TEST_CA" leaf "$S" "$2" trino "$td" "$3" "$S/$1.key" "$S/$1.chain"; }
# roots CA...: the roots file lists exactly these CAs (replaced atomically).
roots() { local c; for c in "$@"; do cat "$S/$c.pem"; done >"$S/roots.tmp"; mv "$S/roots.tmp" "$S/roots.pem"; }
# client SERVICE CA FILE: a client identity (key + leaf in one PEM file, as the CLI reads it).
client() {
  "$TEST_CA" leaf "$S" "$2" "$1" "$td" 3600 "$S/client.key" "$S/client.chain"
  cat "$S/client.key" "$S/client.chain" >"$3"
}
serial_of() { # PORT: the serial the node's TLS server presents
  openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null \
    | sed 's/^serial=//'
}
file_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
active_nodes() { trino_query "$W/coord" "$WEB" web "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>/dev/null || true; }
wait_nodes() { # N SECONDS
  local deadline=$(( $(date +%s) + $2 ))
  until [ "$(active_nodes)" = "$1" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "expected $1 active nodes within $2 s, have '$(active_nodes)'"
    sleep 1
  done
}
# on_worker: a distributed query whose tasks run on the worker, and proof that they did.
on_worker() {
  local out tasks
  out="$(trino_query "$W/coord" "$WEB" web "SELECT count(*), sum(x) FROM UNNEST(sequence(1, 10000)) AS t(x)")" \
    || die "query on the worker failed ($1)"
  [ "$out" = "10000,50005000" ] || die "expected '10000,50005000', got '$out' ($1)"
  tasks="$(trino_query "$W/coord" "$WEB" web \
    "SELECT count(*) FROM system.runtime.tasks WHERE node_id = '$(sed -n 's/^node.id=//p' "$W/worker/etc/node.properties")'")"
  [ "${tasks:-0}" -gt 0 ] || die "no task ran on the worker ($1)"
  log "query ran on the worker ($1): $tasks task(s) there"
}
node_props() { # DIR NODE
  trino_consul_props "$1" <<PROPS
consul.address=$CONSUL_HTTP
consul.service=trino
consul.identity.source=files
consul.identity.files.key=$S/$2.key
consul.identity.files.chain=$S/$2.chain
consul.identity.files.roots=$S/roots.pem
consul.identity.files.poll-interval=250ms
consul.pem.directory=$1/tls
PROPS
}
restart() { # NODE
  trino_node_stop "$W/$1"
  trino_node_start "$W/$1"
  trino_wait_ready "$W/$1"
}

step "test CA 1; leaves A for both nodes, valid for ${LEAF_LIFE}s"
"$TEST_CA" ca "$S" ca1 "$td"
roots ca1
leaf coord ca1 "$LEAF_LIFE"
leaf worker ca1 "$LEAF_LIFE"
expiry_a=$(( $(date +%s) + LEAF_LIFE ))
WEB="$W/web-ca1.pem"
client web ca1 "$WEB"

trino_node_init "$W/coord" coordinator
node_props "$W/coord" coord
trino_auth_certificate "$W/coord"
trino_node_init "$W/worker" worker "$W/coord"
node_props "$W/worker" worker
trino_auth_certificate "$W/worker"
! grep -h hostname-verification "$W"/coord/etc/config.properties "$W"/worker/etc/config.properties \
  || die "host-name verification is switched off somewhere"

step "start coordinator and worker on leaf A"
trino_node_start "$W/coord"
trino_node_start "$W/worker"
trino_wait_ready "$W/coord"
trino_wait_ready "$W/worker"
wait_nodes 2 90
on_worker "leaf A"
coord_port="$(cat "$W/coord/port")"
serial_a="$(serial_of "$coord_port")"
[ "$serial_a" = "$(file_serial "$S/coord.chain")" ] || die "coordinator presents '$serial_a', not leaf A"

step "leaf B at the source (CA 1, 15 min)"
leaf worker ca1 900
date +%s.%N >"$W/b-written"
leaf coord ca1 900
serial_b="$(file_serial "$S/coord.chain")"
until [ "$(serial_of "$coord_port")" = "$serial_b" ]; do
  [ "$(elapsed "$W/b-written")" \< 30 ] || die "coordinator still presents $serial_a 30 s after leaf B was written"
  sleep 0.05
done
log "coordinator's TLS server presents leaf B $(elapsed "$W/b-written") s after it was written at the source"

step "leaf A expires at $(date -d "@$expiry_a" +%H:%M:%S); queries keep running until then and after"
while [ "$(date +%s)" -le $(( expiry_a + 10 )) ]; do
  [ "$(active_nodes)" = 2 ] || die "a node dropped out before/around leaf A's expiry"
  on_worker "while leaf A expires" >/dev/null
  sleep 10
done
log "leaf A expired $(( $(date +%s) - expiry_a )) s ago; 2 active nodes, queries run"

step "restart the worker after leaf A expired: new connections, full handshakes, both ways"
restart worker
wait_nodes 2 90
on_worker "worker restarted after leaf A expired"
for node in coord worker; do
  grep -q "presenting leaf serial .* as TLS client" "$W/$node/server.log" \
    || die "$node: no internal client handshake presented a Consul leaf"
done
colon_serial() { sed 's/../&:/g; s/:$//' | tr 'A-F' 'a-f'; }
first_client_b="$(grep -i "presenting leaf serial $(echo "$serial_b" | colon_serial) .* as TLS client" "$W/coord/server.log" \
  | head -1 | cut -f1 || true)"
[ -n "$first_client_b" ] || die "the coordinator's internal clients never presented leaf B"
log "coordinator: first internal client handshake presenting leaf B $(awk -v a="$(cat "$W/b-written")" \
  -v b="$(date -d "$first_client_b" +%s.%N)" 'BEGIN { printf "%.3f", b - a }') s after leaf B was written at the source"

step "CA rotation: CA 2 joins the roots, every leaf re-issued by CA 2"
"$TEST_CA" ca "$S" ca2 "$td"
roots ca1 ca2
leaf coord ca2 900
leaf worker ca2 900
WEB2="$W/web-ca2.pem"
client web ca2 "$WEB2"
serial_c="$(file_serial "$S/coord.chain")"
deadline=$(( $(date +%s) + 30 ))
until [ "$(serial_of "$coord_port")" = "$serial_c" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || die "coordinator does not present the CA 2 leaf after 30 s"
  sleep 0.1
done
on_worker "CA 1 and CA 2 in the roots"

step "CA 1 leaves the roots"
roots ca2
sleep 2
WEB_OLD="$WEB"
WEB="$WEB2"
if out="$(trino_query "$W/coord" "$WEB_OLD" web "SELECT 1" 2>&1)"; then
  die "a client leaf of the removed CA 1 still runs queries: $out"
fi
log "client leaf of CA 1: refused once CA 1 left the roots"
on_worker "CA 1 removed"

step "restart the coordinator: the worker (started on a CA 1 leaf) must rejoin over new handshakes"
restart coord
wait_nodes 2 120
on_worker "coordinator restarted after CA 1 was removed"

step "an impostor with a valid CA 2 leaf for 'web' answers on the worker's address"
worker_port="$(cat "$W/worker/port")"
kill -KILL "$(cat "$W/worker/pid")"
sleep 0.5
# impostor SERVICE: a TLS server with a valid CA 2 leaf for SERVICE on the worker's port.
impostor() {
  rm -f "$W/impostor.counts"
  "$TEST_CA" leaf "$S" ca2 "$1" "$td" 900 "$S/impostor.key" "$S/impostor.chain"
  python3 "$here/impostor.py" "$worker_port" "$S/impostor.key" "$S/impostor.chain" "$W/impostor.counts" \
    >"$W/impostor.log" 2>&1 &
  impostor_pid=$!
  PCC_PIDS+=("$impostor_pid")
}
# impostor_saw FIELD MIN WHAT: wait up to 30 s until the impostor counted MIN of FIELD
# (1 connections, 2 handshakes, 3 requests).
impostor_saw() {
  local deadline=$(( $(date +%s) + 30 ))
  until [ "$(awk -v f="$1" '{print $f}' "$W/impostor.counts" 2>/dev/null || echo 0)" -ge "$2" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$3 ($(cat "$W/impostor.counts" 2>/dev/null))"
    sleep 0.5
  done
}
impostor web
impostor_saw 1 3 "the coordinator never called the worker's address"
read -r conns shakes reqs <"$W/impostor.counts"
[ "$reqs" = 0 ] || die "the coordinator sent $reqs request(s) to an impostor holding a 'web' leaf"
grep -q "consul-connect: refused the TLS server 127.0.0.1:$worker_port: .*not to the expected service \`trino\`" \
  "$W/coord/server.log" || die "the coordinator's log does not say why it refused the impostor"
log "impostor (web): $conns connection(s) from the coordinator, $shakes completed handshake(s), 0 requests; coordinator log:"
log "  $(grep -m1 "consul-connect: refused the TLS server 127.0.0.1:$worker_port" "$W/coord/server.log" | cut -f5- | cut -c1-300)"
kill "$impostor_pid"; wait "$impostor_pid" 2>/dev/null || true

step "control: an impostor with a 'trino' leaf of CA 2 is accepted (so the refusal above was the SPIFFE check)"
impostor trino
impostor_saw 3 1 "the coordinator sent no request to a server with a valid trino leaf"
log "impostor (trino): $(cat "$W/impostor.counts") (connections handshakes requests)"

step "PASS"
