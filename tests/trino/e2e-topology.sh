#!/usr/bin/env bash
# End-to-end on a production-shaped Consul (tests/trino/lib.sh, "Consul topology"): three
# Consul servers and one client agent per Trino node, ACLs on with default_policy "deny",
# gossip encryption, TLS for server RPC and for the agents' HTTP API; a real Trino 476
# coordinator and worker, each with its own client agent, its own token file and its own
# leaf. The coordinator is set up with Consul's environment variables (CONSUL_HTTP_ADDR=
# https://…, CONSUL_CACERT, CONSUL_HTTP_TOKEN_FILE), the worker with properties
# (consul.address=unix:///…, consul.token-file), both as the README's "Consul with ACLs and
# agent TLS" example says, each token with only the README's minimal policy.
#
# Checks, in order:
#   1. each node presents its own leaf (SPIFFE id of trino, serials differ, each the one
#      its own agent issued); a client allowed by an intention runs a query on the worker
#      through the coordinator (coordinator↔worker mTLS); a denied client gets a 401;
#   2. fault: the worker's agent stops for longer than the decision TTL: the worker keeps
#      serving with its last good leaf (queries on it keep working), says why in its log,
#      and recovers by itself when the agent is back;
#   3. fault: the coordinator's agent stops: a client never seen before is refused at once
#      (agent-unavailable: fail closed), the cached allow of a known client lasts at most
#      its TTL plus consul.authz.max-stale, the coordinator keeps presenting its leaf, the
#      worker is unaffected; all recover by themselves when the agent is back;
#   4. fault: the coordinator's token is revoked: refusals and the log name the ACL problem
#      (never the token), the leaf is kept; a new token written into the token file is
#      picked up without a restart; an emptied token file keeps the last token in use and
#      shows in the coordinator's LastError (JMX);
#   5. fault: the Consul leader is stopped right after a CA rotation: a new leader is
#      elected, both nodes end with leaves signed by the new root and keep serving.
# Times to detect and to recover are printed. Exits non-zero with "FAIL: ..." on the first
# failure; always stops everything.
# Usage: bash tests/trino/e2e-topology.sh      (PCC_KEEP=1 keeps logs and configs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

# Decisions: reused 3 s, a cached allow at most 3 s longer while the agent cannot answer.
TTL=3 MAX_STALE=3
POLICY='service "trino" {
  policy     = "write"
  intentions = "read"
}'

step "prepare (Trino, CLI, Consul)"
PCC_TRINO_JMX=1
pcc_init
trap pcc_on_fail EXIT
W="$PCC_WORK"

step "start Consul: 3 servers, a client agent per Trino node (coord: HTTPS, worker: unix socket)"
TOPO_LOG_LEVEL=debug  # the agents' request log: which endpoints the nodes' tokens were used on
topo_start 3
topo_client coord https
topo_client worker unix
log "servers ${TOPO_SERVERS[*]} (leader $(topo_leader)); coord agent at $(topo_agent_address coord), worker agent at $(topo_agent_address worker)"
consul_intention web trino allow
consul_intention web2 trino allow
consul_intention trino trino allow
consul_intention evil trino deny
for svc in web web2 evil; do consul_leaf_pem "$svc" "$W/$svc.pem"; done
trust_domain="$(consul_curl /v1/agent/connect/ca/roots | jq -r .TrustDomain)"

step "configure coordinator and worker (each its own agent and token file)"
trino_cluster_init "$W"
# token_write NODE TOKEN: the node's token file replaced atomically (temp file + rename).
token_write() {
  (umask 077; printf '%s\n' "$2" >"$W/$1/consul-token.new")
  mv "$W/$1/consul-token.new" "$W/$1/consul-token"
}
coord_token="$(topo_token trino-node "$POLICY")"
worker_token="$(topo_token trino-node "$POLICY")"
token_write coord "$coord_token"
token_write worker "$worker_token"
# The coordinator: Consul's environment variables, as a service manager would set them.
cat >"$W/coord/env" <<EOF
CONSUL_HTTP_ADDR=$(topo_agent_address coord)
CONSUL_CACERT=$TOPO_CA
CONSUL_HTTP_TOKEN_FILE=$W/coord/consul-token
EOF
trino_consul_props "$W/coord" <<EOF
consul.service=trino
consul.pem.directory=$W/coord/tls
consul.authz.cache-ttl=${TTL}s
consul.authz.max-stale=${MAX_STALE}s
consul.watch.wait=10s
EOF
# The worker: the same in properties, its agent on a unix socket.
trino_consul_props "$W/worker" <<EOF
consul.address=$(topo_agent_address worker)
consul.token-file=$W/worker/consul-token
consul.service=trino
consul.pem.directory=$W/worker/tls
consul.watch.wait=10s
EOF

step "start coordinator and worker"
trino_node_start "$W/coord"
trino_node_start "$W/worker"
trino_wait_ready "$W/coord"
trino_wait_ready "$W/worker"

step "check: each node presents its own leaf, issued by its own agent"
# agent_leaf NODE: the serial of the leaf NODE's agent holds for trino, asked with the
# node's token (hex digits, as hexnorm prints them).
agent_leaf() {
  hexnorm "$(topo_agent_curl "$1" /v1/agent/connect/ca/leaf/trino -H @- <<<"X-Consul-Token: $(cat "$W/$1/consul-token")" | jq -r .SerialNumber)"
}
declare -A SERIAL
for node in coord worker; do
  pem="$(trino_presented "$W/$node")"
  uri="$(openssl x509 -noout -ext subjectAltName <<<"$pem" | tr -d ' ' | grep '^URI:' || true)"
  [ "$uri" = "URI:spiffe://$trust_domain/ns/default/dc/dc1/svc/trino" ] || die "$node presents '$uri'"
  SERIAL[$node]="$(hexnorm "$(openssl x509 -noout -serial <<<"$pem" | sed 's/^serial=//')")"
  # The leaf its agent holds for trino (a Consul 1.22 agent hands its cached leaf out to a
  # caller with a token for the service: the node's own token).
  agent_serial="$(agent_leaf "$node")"
  [ "$agent_serial" = "${SERIAL[$node]}" ] \
    || die "$node presents serial ${SERIAL[$node]}, its agent holds $agent_serial"
done
[ "${SERIAL[coord]}" != "${SERIAL[worker]}" ] || die "both nodes present the same leaf ${SERIAL[coord]}"
log "coord presents ${SERIAL[coord]} (from agent coord), worker ${SERIAL[worker]} (from agent worker), both spiffe://$trust_domain/ns/default/dc/dc1/svc/trino"

# distributed: web's query whose tasks run on the worker (the coordinator runs none).
distributed() {
  [ "$(trino_query "$W/coord" "$W/web.pem" web "SELECT count(*), sum(x) FROM UNNEST(sequence(1, 10000)) AS t(x)")" = "10000,50005000" ]
}
# allowed CLIENT: CLIENT (web, web2) runs a query through the coordinator as itself.
allowed() { [ "$(trino_query "$W/coord" "$W/$1.pem" "$1" "SELECT current_user" 2>/dev/null)" = "$1" ]; }
# refusal CLIENT: CLIENT's query is refused with a 401; the refusal is left in $why.
refusal() { why="$(trino_refused "$W/coord" "$W/$1.pem" "$1")"; }
# active_nodes N: the coordinator counts N active nodes.
active_nodes() {
  [ "$(trino_query "$W/coord" "$W/web.pem" web "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>/dev/null)" = "$1" ]
}
# identity NODE COLUMN: a column of NODE's identity MBean (our JMX metrics, through Trino's
# jmx catalog, read as web through the coordinator), e.g. lasterror.
identity() {
  trino_query "$W/coord" "$W/web.pem" web \
    "SELECT $2 FROM jmx.current.\"io.consulconnect:type=identity,name=trino\" WHERE node = '$(sed -n 's/^node.id=//p' "$W/$1/etc/node.properties")'"
}
# failing NODE / healthy NODE: NODE's identity has an open error (left in $error) / none
# (both false when the row cannot be read).
last_error() { error="$(identity "$1" "'<' || coalesce(lasterror, '') || '>'")" && [[ "$error" == "<"*">" ]] && error="${error:1:-1}"; }
failing() { last_error "$1" && [ -n "$error" ]; }
healthy() { last_error "$1" && [ -z "$error" ]; }
# since FILE: the number of lines FILE has now; logged_after FILE LINES PATTERN: whether a
# line after the first LINES matches; first_after FILE LINES PATTERN: the first such match.
since() { wc -l <"$1"; }
logged_after() { tail -n +"$(( $2 + 1 ))" "$1" | grep -qE "$3"; }
first_after() { tail -n +"$(( $2 + 1 ))" "$1" | grep -m1 -oE "$3" | cut -c1-600; }
# now: seconds since the epoch, with decimals; took T0: seconds since T0.
now() { date +%s.%N; }
took() { awk -v s="$1" -v n="$(now)" 'BEGIN { printf "%.1f", n - s }'; }
# same_leaf NODE: NODE still presents the serial in SERIAL[NODE].
same_leaf() { [ "$(hexnorm "$(trino_serial "$W/$1")")" = "${SERIAL[$1]}" ]; }
# on_agent_leaf NODE: NODE presents the leaf its agent holds now (then kept in SERIAL[NODE]).
on_agent_leaf() { SERIAL[$1]="$(hexnorm "$(trino_serial "$W/$1")")" && [ "${SERIAL[$1]}" = "$(agent_leaf "$1")" ]; }

pcc_wait 90 "the worker did not join within 90 s" active_nodes 2
distributed || die "the query on the worker failed"
worker_id="$(sed -n 's/^node.id=//p' "$W/worker/etc/node.properties")"
tasks="$(trino_query "$W/coord" "$W/web.pem" web "SELECT count(*) FROM system.runtime.tasks WHERE node_id = '$worker_id'")"
[ "${tasks:-0}" -gt 0 ] || die "no task ran on the worker"
refusal evil || die "evil ran a query"
[[ "$why" == *"(denied)" ]] || die "evil refused, but not as denied by its intention: $why"
log "web ran a query on the worker ($tasks task(s) there); evil: $why"

step "fault: the worker's agent stops for longer than the decision TTL"
wlog="$W/worker/server.log" clog="$W/coord/server.log"
healthy worker || die "the worker's identity reports an error before the fault: $error"
t0="$(now)"
topo_agent_stop worker
# Its watches notice when their blocking query breaks off; the identity MBean says so.
pcc_wait 40 "the worker's identity reports no error 40 s after its agent stopped" failing worker
detected="$(took "$t0")"
sleep "$(( TTL + MAX_STALE + 1 ))"
distributed || die "queries on the worker failed while its agent was down"
same_leaf worker || die "the worker changed its leaf without an agent"
log "worker agent down $(took "$t0")s: the worker's LastError after ${detected}s: $(cut -c1-300 <<<"$error"); queries on it kept working, same leaf"
t1="$(now)"
topo_agent_start worker
pcc_wait 60 "the worker still reports an error 60 s after its agent came back" healthy worker
cleared="$(took "$t1")"
distributed || die "queries on the worker failed after its agent came back"
# The restarted agent lost its in-memory leaf cache: it issues the node a new leaf.
pcc_wait 60 "the worker does not present its agent's leaf 60 s after the agent came back" on_agent_leaf worker
log "worker agent back: the worker's LastError cleared ${cleared}s later, it presents its agent's new leaf ${SERIAL[worker]} after $(took "$t1")s; agent errors: leaf $(identity worker agenterrorsleaf), roots $(identity worker agenterrorsroots)"

step "fault: the coordinator's agent stops for longer than the decision TTL"
allowed web || die "web is not allowed"
from="$(since "$clog")" wfrom="$(since "$wlog")"
t0="$(now)"
topo_agent_stop coord
log "the coordinator's agent stopped (a graceful leave: $(took "$t0")s)"
t0="$(now)"
refusal web2 || die "web2, never seen, was allowed while the agent was down"
[[ "$why" == *"(agent-unavailable)" ]] || die "web2 refused, but not for the agent: $why"
log "new client web2 refused $(took "$t0")s after the stop: $why"
pcc_wait $(( TTL + MAX_STALE + 15 )) "web's cached allow outlived TTL + max-stale by 15 s" refusal web
web_refused="$(took "$t0")"
[[ "$why" == *"(agent-unavailable)" ]] || die "web refused, but not for the agent: $why"
same_leaf coord || die "the coordinator dropped its leaf"
same_leaf worker || die "the worker's leaf changed"
! logged_after "$wlog" "$wfrom" 'WARN.*consul-connect: ' || die "the worker logged a Consul problem: $(first_after "$wlog" "$wfrom" 'consul-connect: .*')"
sleep "$(awk -v t="$TTL" -v m="$MAX_STALE" -v d="$(took "$t0")" 'BEGIN { s = t + m + 1 - d; print (s > 0 ? s : 0) }')"
log "coordinator agent down $(took "$t0")s: web (allowed before) refused after ${web_refused}s (TTL ${TTL}s + max-stale ${MAX_STALE}s): $why; both nodes kept their leaves; the worker logged nothing"
log "coordinator log: $(first_after "$clog" "$from" 'consul-connect: denied .*svc/web .*')"
t1="$(now)"
topo_agent_start coord
pcc_wait 60 "web not allowed again 60 s after the coordinator's agent came back" allowed web
web_back="$(took "$t1")"
allowed web2 || die "web2 not allowed after the agent came back"
distributed || die "queries on the worker failed after the coordinator's agent came back"
# The restarted agent lost its in-memory leaf cache: it issues the node a new leaf.
pcc_wait 60 "the coordinator does not present its agent's leaf 60 s after the agent came back" on_agent_leaf coord
pcc_wait 60 "the coordinator still reports an error 60 s after its agent came back" healthy coord
log "coordinator agent back: web allowed again after ${web_back}s, web2 too; coordinator presents ${SERIAL[coord]}, LastError cleared, $(took "$t1")s after the agent's return"

step "fault: the coordinator's token is revoked, then a new one is written into its token file"
from="$(since "$clog")"
t0="$(now)"
topo_revoke "$coord_token"
# A client agent caches what a token may do for acl.token_ttl (Consul's default: 30 s), so
# it notices a revoke that much later; then the decision's TTL and max-stale run out.
pcc_wait $(( 30 + TTL + MAX_STALE + 15 )) "web still allowed $((30 + TTL + MAX_STALE + 15)) s after the revoke" refusal web
revoke_detected="$(took "$t0")"
[[ "$why" == *"(agent-unavailable)" ]] || die "refused after the revoke, but not for the agent: $why"
pcc_wait 20 "the coordinator's log does not name the ACL problem" logged_after "$clog" "$from" 'ACL not found'
acl_line="$(first_after "$clog" "$from" 'consul-connect: .*ACL not found.*')"
[[ "$acl_line" == *"does not know the ACL token"* ]] || die "the log's ACL error has no explanation: $acl_line"
same_leaf coord || die "the coordinator dropped its leaf after the revoke"
log "revoked: web refused after ${revoke_detected}s ($why); log: $acl_line; the coordinator still presents ${SERIAL[coord]}"
new_token="$(topo_token trino-node "$POLICY")"
t1="$(now)"
token_write coord "$new_token"
pcc_wait 30 "web not allowed 30 s after the new token was written" allowed web
picked="$(took "$t1")"
pcc_wait 30 "the coordinator still reports an error 30 s after the new token" healthy coord
kill -0 "$(cat "$W/coord/pid")" || die "the coordinator restarted"
for token in "$coord_token" "$new_token" "$worker_token"; do
  ! grep -rqF "$token" "$W/coord/server.log" "$W/worker/server.log" "$W/coord/tls" "$W/worker/tls" \
    || die "a token appears in a node's log or TLS directory"
done
log "new token in the file: web allowed again ${picked}s later, LastError cleared, same coordinator process; no token in any log"
# A token file emptied by mistake: the last good token stays in use, LastError says why.
: >"$W/coord/consul-token"
empty_file() { failing coord && [[ "$error" == *"is empty"* ]]; }
pcc_wait 30 "the coordinator's LastError does not report the empty token file" empty_file
[[ "$error" != *"$new_token"* ]] || die "LastError shows the token"
empty_error="$error"
allowed web || die "web refused while the token file was empty"
token_write coord "$new_token"
pcc_wait 30 "the coordinator still reports the token file after it was written again" healthy coord
log "token file emptied: web still allowed (the last token kept), LastError: $empty_error; cleared once the file was written again"

step "fault: the Consul leader stops right after a CA rotation"
old_root="$(consul_curl /v1/connect/ca/roots | jq -r .ActiveRootID)"
leader="$(topo_leader)"
consul_curl /v1/connect/ca/configuration -X PUT \
  -d '{"Provider":"consul","Config":{"PrivateKeyType":"ec","PrivateKeyBits":384}}' >/dev/null
t0="$(now)"
topo_agent_stop "$leader"
topo_use_server
another_leader() { new_leader="$(topo_leader)" && [ -n "$new_leader" ] && [ "$new_leader" != "$leader" ]; }
pcc_wait 60 "no new leader 60 s after $leader stopped" another_leader
elected="$(took "$t0")"
new_root="$(consul_curl /v1/connect/ca/roots | jq -r .ActiveRootID)"
[ "$new_root" != "$old_root" ] || die "the CA rotation did not change the active root"
root_ski="$(consul_curl /v1/connect/ca/roots | jq -r '.Roots[] | select(.Active) | .RootCert' \
  | openssl x509 -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')"
# on_new_root NODE: NODE presents a leaf signed by the new root (its issuer's key id).
on_new_root() {
  local aki
  aki="$(trino_presented "$W/$1" | openssl x509 -noout -ext authorityKeyIdentifier 2>/dev/null | tail -1 | tr -d ' ')"
  [ "${aki#keyid:}" = "$root_ski" ]
}
# Consul re-issues leaves after a rotation with up to 30 s of jitter.
for node in coord worker; do
  pcc_wait 120 "$node has no leaf of the new root 120 s after the rotation" on_new_root "$node"
  log "$node presents a leaf of the new root $(took "$t0")s after the rotation (serial $(trino_serial "$W/$node"))"
done
distributed || die "queries fail after the rotation"
allowed web2 || die "web2 not allowed after the rotation"
log "leader $leader stopped right after the rotation; $new_leader elected after ${elected}s; both nodes on the new root, queries on the worker work"

step "ACL evidence: the endpoints the client agents served"
# served NODE METHOD PATH: NODE's agent logged a finished request METHOD PATH.
served() { grep -qE "Request finished: method=$2 url=\"?$3[?\" ]" "$TOPO/$1/consul.log"; }
for endpoint in "GET /v1/agent/connect/ca/leaf/trino" "GET /v1/agent/connect/ca/roots" \
  "GET /v1/connect/intentions/match" "POST /v1/agent/connect/authorize"; do
  served coord $endpoint || die "the coordinator's agent never served $endpoint"
done
for node in coord worker; do
  log "agent $node (requests): $(grep -oE 'Request finished: method=[A-Z]+ url="?/v1/[a-z/_-]+' "$TOPO/$node/consul.log" \
    | sed 's/Request finished: method=//; s/ url="\{0,1\}/ /' | sort | uniq -c | awk '{ printf "%s%s %s x%s", (NR > 1 ? ", " : ""), $2, $3, $1 }')"
done

step "PASS (coordinator ready after $(cat "$W/coord/ready-after")s, worker after $(cat "$W/worker/ready-after")s)"
