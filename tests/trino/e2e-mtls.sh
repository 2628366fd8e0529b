#!/usr/bin/env bash
# End-to-end: a real Trino 476 coordinator and one worker on 127.0.0.1 that speak only
# HTTPS, with mutual TLS, using certificates issued by a real Consul dev agent's Connect CA.
#
# Checks, in order:
#   1. both nodes start with HTTPS only (plain HTTP off), present the Consul leaf for
#      "trino" and ask clients for a certificate issued by the Consul CA;
#   2. the worker joins over internal HTTPS: 2 active nodes in system.runtime.nodes,
#      both announced with https:// URIs;
#   3. a client holding a Consul leaf for "web" runs queries over HTTPS with its client
#      certificate, verifying the coordinator against the Consul roots (SSLVerification=CA);
#      Trino reports the user "web" (our plugin maps the SPIFFE id to the service);
#   5. (plugin) a denied service is refused with Consul's reason; an intention flip takes
#      effect without a restart; a CA rotation reaches the HTTPS server without a restart;
#      the native core's line about the new roots is in the coordinator's server.log under
#      the logger io.consulconnect.native.identity.publisher (the log bridge).
#   6. (metrics) our MBeans, read through Trino's JMX connector (catalog "jmx", the
#      trino-jmx plugin of the same Trino version on both nodes) as the client "web":
#      jmx.current."io.consulconnect:type=identity,name=trino" has a row per node with the
#      coordinator's leaf (SPIFFE id, serial = the one its HTTPS server presents, not-after,
#      seconds to expiry > 0), and "…type=authorization,name=trino" the coordinator's
#      decisions; they move: the denied client of 5 raises denied, deniedbyintention and
#      deniedbyreason's "denied", web's own queries raise allowed, and the CA rotation of 5
#      raises leafrotations and changes the serial.
# Every node is set up as the README says (tests/trino/lib.sh): plugin zip in plugin/, its
# jar as -javaagent, host-name verification left on for every internal client.
#   4. refused: a client without a certificate (401); a client with a certificate from a
#      foreign CA (the CLI withholds it: 401; curl presents it: TLS alert); a client that
#      trusts only a foreign CA (it must not accept the coordinator: the CA check is real).
# Exits non-zero with a "FAIL: ..." line on the first failure; always stops everything.
# Usage: bash tests/trino/e2e-mtls.sh      (PCC_KEEP=1 keeps logs and configs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

step "prepare (Trino, CLI, Consul)"
PCC_TRINO_JMX=1
pcc_init
trap pcc_on_fail EXIT
W="$PCC_WORK"

step "start Consul"
consul_start
consul_intention web trino allow
consul_leaf_pem web "$W/web.pem"
consul_roots_pem "$W/roots.pem"
trust_domain="$(curl -fsS "$CONSUL_HTTP/v1/agent/connect/ca/roots" | jq -r .TrustDomain)"

# A foreign CA and a client leaf it signed, shaped like a Consul leaf (EC P-256, SPIFFE
# URI SAN for "web" in the same trust domain): only the issuer differs.
(
  cd "$W"; umask 077
  openssl ecparam -name prime256v1 -genkey -noout -out evil-ca.key 2>/dev/null
  openssl req -x509 -new -key evil-ca.key -subj "/CN=not consul" -days 1 -out evil-ca.pem 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out evil.key 2>/dev/null
  openssl req -new -key evil.key -subj "/" -out evil.csr 2>/dev/null
  printf 'subjectAltName=critical,URI:spiffe://%s/ns/default/dc/dc1/svc/web\nextendedKeyUsage=clientAuth,serverAuth\n' \
    "$trust_domain" >evil.ext
  openssl x509 -req -in evil.csr -CA evil-ca.pem -CAkey evil-ca.key -CAcreateserial -days 1 \
    -extfile evil.ext -out evil.crt 2>/dev/null
  cat evil.key evil.crt >evil.pem
)

step "configure coordinator and worker"
trino_cluster_init "$W"
! grep -h hostname-verification "$W"/coord/etc/config.properties "$W"/worker/etc/config.properties \
  || die "host-name verification is switched off somewhere"
# The user Trino reports for the web client: our plugin maps the SPIFFE id to the service.
U=web

# Both JVMs start together: on two cores this is faster than one after the other, and the
# worker's announcer simply retries until the coordinator's discovery service is up.
step "start coordinator and worker"
trino_node_start "$W/coord"
trino_node_start "$W/worker"
trino_wait_ready "$W/coord"
trino_wait_ready "$W/worker"

step "check: HTTPS only, Consul leaf presented, client certificates requested"
coord_url="$(trino_url "$W/coord")"
root_cn="$(openssl x509 -in "$W/roots.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')"
for node in coord worker; do
  port="$(cat "$W/$node/port")"
  ! curl -sS --max-time 3 "http://127.0.0.1:$port/v1/info" >/dev/null 2>&1 \
    || die "$node answers plain HTTP on its port"
  hello="$(openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null || true)"
  presented="$(echo "$hello" | openssl x509 -noout -ext subjectAltName 2>/dev/null | tr -d ' ' | grep '^URI:' || true)"
  [ "$presented" = "URI:spiffe://$trust_domain/ns/default/dc/dc1/svc/trino" ] \
    || die "$node presents '$presented', not the Consul leaf for trino"
  echo "$hello" | grep -A1 '^Acceptable client certificate CA names' | grep -qF "$root_cn" \
    || die "$node does not ask for a client certificate from the Consul CA ($root_cn)"
done
log "both nodes: HTTPS only, present spiffe://$trust_domain/.../svc/trino, ask for client certificates from $root_cn"

step "check: the JVM-level part is in place, and the plugin shares its identity"
for node in coord worker; do
  grep -q "consul-connect: JVM-level Consul Connect TLS installed for spiffe://.*/svc/trino" "$W/$node/server.log" \
    || die "$node: the -javaagent did not install the JVM-level part"
  grep -q "uses the JVM-level native library (one per JVM) and shares its identity and watchers" "$W/$node/server.log" \
    || die "$node: the plugin does not share the JVM-level identity"
  ! grep -q "WARNING: A restricted method" "$W/$node/server.log" || die "$node: JDK native-access warning"
done
log "both nodes: JVM-level part installed; the plugin shares its native library and identity; no native-access warning"

step "check: worker joins over internal HTTPS"
# The coordinator learns of the worker through its discovery service (selector refresh
# up to 10 s) and then checks the worker's state (node manager, every 5 s): allow 90 s.
nodes=""
deadline=$(( $(date +%s) + 90 ))
while :; do
  nodes="$(trino_query "$W/coord" "$W/web.pem" "$U" \
    "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>"$W/cli.err")" \
    || { cat "$W/cli.err" >&2; die "the CLI could not query the coordinator over mTLS"; }
  [ "$nodes" = 2 ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "expected 2 active nodes, got '${nodes}' after 90 s"
  sleep 1
done
log "2 active nodes $(awk -v s="$(cat "$W/worker/started")" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')s after the worker started"
uris="$(trino_query "$W/coord" "$W/web.pem" "$U" "SELECT http_uri FROM system.runtime.nodes ORDER BY http_uri")"
expected_uris="$(printf '%s\n' "$coord_url" "$(trino_url "$W/worker")" | sort)"
[ "$uris" = "$expected_uris" ] || die "node URIs are not the HTTPS ones: $uris"

step "check: client with a Consul leaf for web runs queries"
out="$(trino_query "$W/coord" "$W/web.pem" "$U" "SELECT current_user, 6 * 7")" \
  || die "query with the web leaf failed"
[ "$out" = "$U,42" ] || die "expected '$U,42', got '$out'"
# A query whose tasks run on the worker (the coordinator runs none:
# node-scheduler.include-coordinator=false), its results pulled back over HTTPS.
out="$(trino_query "$W/coord" "$W/web.pem" "$U" \
  "SELECT count(*), sum(x) FROM UNNEST(sequence(1, 10000)) AS t(x)")" \
  || die "query on the worker failed"
[ "$out" = "10000,50005000" ] || die "expected '10000,50005000', got '$out'"
worker_tasks="$(trino_query "$W/coord" "$W/web.pem" "$U" \
  "SELECT count(*) FROM system.runtime.tasks WHERE node_id = '$(sed -n 's/^node.id=//p' "$W/worker/etc/node.properties")'")"
[ "${worker_tasks:-0}" -gt 0 ] || die "no task ran on the worker"
log "queries ran; $worker_tasks task(s) on the worker"

step "check: refusals"
# The CLI colours its error messages; strip that for matching and logging.
plain() { sed 's/\x1b\[[0-9;]*m//g'; }
if out="$(trino_query "$W/coord" - "$U" "SELECT 1" 2>&1 | plain; exit "${PIPESTATUS[0]}")"; then
  die "a client without a certificate ran a query: $out"
fi
echo "$out" | grep -qiE 'unauthorized|401|authentication' \
  || die "a client without a certificate was refused, but not for authentication: $out"
log "no client certificate: refused ($(echo "$out" | grep -iE 'unauthorized|401|authentication' | head -1))"

# The CLI's JDK client offers a certificate only when its issuer is among the CAs the
# server's certificate request names (the Consul roots), so a foreign-CA certificate never
# leaves it: Trino sees no certificate and answers 401.
if out="$(trino_query "$W/coord" "$W/evil.pem" "$U" "SELECT 1" 2>&1 | plain; exit "${PIPESTATUS[0]}")"; then
  die "a client with a foreign-CA certificate ran a query: $out"
fi
echo "$out" | grep -qiE 'unauthorized|401|authentication|ssl|handshake|certificate' \
  || die "a foreign-CA client was refused, but for an unexpected reason: $out"
log "foreign-CA certificate, CLI: refused ($(echo "$out" | grep -iE 'unauthorized|401|authentication|ssl|handshake|certificate' | head -1))"
# curl (OpenSSL) presents its certificate whatever the server asks for: then the server's
# TLS layer itself must reject the chain. The same request with the web leaf succeeds,
# so the refusal is about the certificate, not the request.
statement() {
  curl -sS -k --max-time 20 -o /dev/null -w '%{http_code}' "$@" \
    -H "X-Trino-User: $U" --data-binary 'SELECT 1' "$coord_url/v1/statement"
}
code="$(statement --cert "$W/web.pem" 2>"$W/curl.err")" || true
[ "$code" = 200 ] || die "curl with the web leaf: HTTP '$code' ($(cat "$W/curl.err")), expected 200"
if code="$(statement --cert "$W/evil.pem" 2>"$W/curl.err")"; then
  die "curl with a foreign-CA certificate got HTTP $code, expected a TLS failure"
fi
log "foreign-CA certificate, presented anyway (curl): refused in TLS ($(head -1 "$W/curl.err"))"

if out="$(trino_query "$W/coord" "$W/web.pem" "$U" "SELECT 1" "$W/evil-ca.pem" 2>&1 | plain; exit "${PIPESTATUS[0]}")"; then
  die "a client trusting only a foreign CA accepted the coordinator: $out"
fi
echo "$out" | grep -qiE 'PKIX|certif|trust' \
  || die "a client trusting only a foreign CA failed, but not on the certificate: $out"
log "client trusting a foreign CA: refuses the coordinator ($(echo "$out" | grep -iE 'PKIX|certif|trust' | head -1))"

# Our MBeans as Trino operators read them: tables of the jmx catalog, one row per node
# (column "node" = the node id), one column per attribute, names lowercased by Trino.
coord_id="$(sed -n 's/^node.id=//p' "$W/coord/etc/node.properties")"
worker_id="$(sed -n 's/^node.id=//p' "$W/worker/etc/node.properties")"
# mbean TYPE... : every node's row of io.consulconnect:type=TYPE,name=trino for each TYPE,
# read as web in one CLI call (one statement per TYPE); one JSON object per row. The CLI's
# error is left in $W/cli.err (cli_error).
mbean() {
  local t sql=""
  for t in "$@"; do sql+="SELECT * FROM jmx.current.\"io.consulconnect:type=$t,name=trino\"; "; done
  PCC_QUERY_FORMAT=JSON trino_query "$W/coord" "$W/web.pem" web "$sql" 2>"$W/cli.err"
}
cli_error() { plain <"$W/cli.err" | grep -vE '^[[:space:]]+at ' | head -3 | tr '\n' ' '; }
# load ROWS TYPE NODE_ID ARRAY: the associative ARRAY gets NODE_ID's row of the TYPE bean,
# column -> value ("" for null); fails when there is no such row.
load() {
  local -n row="$4"
  local k v
  row=()
  while IFS=$'\t' read -r k v; do row[$k]="$v"; done < <(jq -r --arg t "$2" --arg n "$3" \
    'select(.node == $n and (.object_name | ascii_downcase | test("type=" + $t + "(,|$)")))
     | to_entries[] | "\(.key)\t\(if .value == null then "" else (.value | tostring | gsub("[\t\n]"; " ")) end)"' <<<"$1")
  [ -n "${row[node]:-}" ]
}
# show ARRAY COLUMN...: "column=value ..." for the log.
show() {
  local -n row="$1"
  local c out=""
  shift
  for c in "$@"; do out+="$c=${row[$c]:-} "; done
  echo "${out% }"
}
# reason_count ARRAY CODE: deniedbyreason[CODE]. An MXBean Map<String,Long> is TabularData,
# which the jmx connector shows as its toString(): one "{key=CODE, value=N}" per entry.
reason_count() {
  local -n row="$1"
  [[ "${row[deniedbyreason]:-}" =~ key=$2,\ value=([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
# reasons ARRAY: the non-zero entries of deniedbyreason, "code=n ...".
reasons() {
  local -n row="$1"
  grep -oE 'key=[a-z-]+, value=[1-9][0-9]*' <<<"${row[deniedbyreason]:-}" \
    | sed -E 's/key=([a-z-]+), value=/\1=/' | tr '\n' ' ' || true
}
# gt A B: A > B, both integers.
gt() { [[ "${1:-}" =~ ^-?[0-9]+$ && "${2:-}" =~ ^-?[0-9]+$ ]] && [ "$1" -gt "$2" ]; }
ID_COLS=(service spiffeid serial notbefore notafter secondstoexpiry inexpiryalarm generation
  leafrotations rootsrotations rootscount activerootid lastsuccessageseconds lasterror)
AUTHZ_COLS=(started target allowed denied deniedbyintention deniedcertificate
  deniedagentunavailable cachehits cachemisses cachesize agentcalls agentcallerrors
  agentcalllatencyp50micros agentcalllatencyp99micros intentionsepoch)
# Snapshots: ID0/AZ0 now, AZ1 after the denied client, ID1 after the CA rotation of check 5
# (c = coordinator, w = worker).
declare -A ID0c ID0w AZ0c AZ0w AZ1c ID1c ID1w

step "check (metrics): our MBeans are tables of Trino's jmx catalog"
rows="$(mbean identity authorization)" \
  || die "cannot read io.consulconnect:type=identity|authorization,name=trino through jmx: $(cli_error)"
load "$rows" identity "$coord_id" ID0c || die "identity MBean: no row for $coord_id: $rows"
load "$rows" identity "$worker_id" ID0w || die "identity MBean: no row for $worker_id: $rows"
log "identity ($coord_id): $(show ID0c "${ID_COLS[@]}")"
log "identity ($worker_id): $(show ID0w "${ID_COLS[@]}")"
[ "${ID0c[spiffeid]:-}" = "spiffe://$trust_domain/ns/default/dc/dc1/svc/trino" ] \
  || die "identity MBean: spiffeid '${ID0c[spiffeid]:-}', expected the leaf for trino"
[ "${ID0c[service]:-}" = trino ] || die "identity MBean: service '${ID0c[service]:-}', expected trino"
[ -n "${ID0c[serial]:-}" ] || die "identity MBean: no serial"
[ -n "${ID0c[notafter]:-}" ] || die "identity MBean: empty notafter"
gt "${ID0c[secondstoexpiry]:-}" 0 || die "identity MBean: secondstoexpiry '${ID0c[secondstoexpiry]:-}' not > 0"
load "$rows" authorization "$coord_id" AZ0c || die "authorization MBean: no row for $coord_id: $rows"
load "$rows" authorization "$worker_id" AZ0w || true
log "authorization ($coord_id): $(show AZ0c "${AUTHZ_COLS[@]}") deniedbyreason: $(reasons AZ0c)"
log "authorization ($worker_id): $(show AZ0w "${AUTHZ_COLS[@]}") deniedbyreason: $(reasons AZ0w)"
[ "${AZ0c[started]:-}" = true ] || die "authorization MBean: the coordinator's authorizer is not started"
gt "${AZ0c[allowed]:-}" 0 || die "authorization MBean: allowed '${AZ0c[allowed]:-}' not > 0 after web's queries"

{
  refused() { trino_refused "$W/coord" "$@"; } # CLIENT_PEM USER

  step "check (plugin): evil, denied by an intention, is refused with Consul's reason"
  consul_intention evil trino deny
  consul_leaf_pem evil "$W/evil-consul.pem"
  why="$(refused "$W/evil-consul.pem" evil)" || die "evil ran a query (or was not refused with a 401)"
  log "evil: refused ($why)"
  [[ "$why" == *"(denied)" ]] || die "evil: refused, but not with the code of an intention deny: $why"
  grep -q "consul-connect: denied .*svc/evil" "$W/coord/server.log" \
    || die "the coordinator log does not say why evil was refused"
  log "coordinator log: $(grep -m1 "consul-connect: denied .*svc/evil" "$W/coord/server.log" | cut -c1-300)"
  # The coordinator's authorization MBean after evil's refusal (reading it is a query of
  # web, itself allowed before the value is read).
  rows="$(mbean authorization)" || die "cannot read the authorization MBean through jmx: $(cli_error)"
  load "$rows" authorization "$coord_id" AZ1c || die "authorization MBean: no row for $coord_id: $rows"

  step "check (plugin): flipping web's intention to deny refuses web's next query, no restart"
  coord_pid="$(cat "$W/coord/pid" 2>/dev/null || true)"
  consul_intention web trino deny
  deadline=$(( $(date +%s) + 10 ))
  until why="$(refused "$W/web.pem" web)"; do
    [ "$(date +%s)" -lt "$deadline" ] || die "web still runs queries 10 s after its intention became deny"
  done
  log "web after the flip: refused ($why)"
  consul_intention web trino allow
  deadline=$(( $(date +%s) + 10 ))
  until out="$(trino_query "$W/coord" "$W/web.pem" web "SELECT current_user" 2>/dev/null)" && [ "$out" = web ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "web not allowed again 10 s after its intention became allow"
  done
  log "web after flipping back: allowed"

  step "check (plugin): a forced rotation reaches Trino's HTTPS server without a restart"
  old_serial="$(trino_serial "$W/coord")"
  [ -n "$old_serial" ] || die "cannot read the coordinator's serial"
  curl -fsS -X PUT "$CONSUL_HTTP/v1/connect/ca/configuration" \
    -d '{"Provider":"consul","Config":{"PrivateKeyType":"ec","PrivateKeyBits":384}}' >/dev/null
  rotated_at=$(date +%s)
  # Consul re-issues leaves after a CA rotation with up to 30 s of jitter; then our plugin
  # rewrites the files and Trino reloads them within its refresh time (10 s here).
  deadline=$(( rotated_at + 90 ))
  while new_serial="$(trino_serial "$W/coord")"; [ "$new_serial" = "$old_serial" ] || [ -z "$new_serial" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the coordinator still presents serial $old_serial 90 s after the CA rotation"
    sleep 1
  done
  log "coordinator now presents serial $new_serial (was $old_serial), $(( $(date +%s) - rotated_at )) s after the CA rotation"
  rows="$(mbean identity)" || die "cannot read the identity MBean through jmx after the rotation: $(cli_error)"
  load "$rows" identity "$coord_id" ID1c || die "identity MBean: no row for $coord_id after the rotation: $rows"
  load "$rows" identity "$worker_id" ID1w || true
  out="$(trino_query "$W/coord" "$W/web.pem" web "SELECT current_user, (SELECT count(*) FROM system.runtime.nodes WHERE state = 'active')")" \
    || die "queries fail after the rotation"
  [ "$out" = "web,2" ] || die "after the rotation expected 'web,2', got '$out'"
  if [ -n "$coord_pid" ]; then kill -0 "$coord_pid" || die "the coordinator restarted"; fi
  log "after the rotation: queries work with the old client leaf, 2 active nodes, same coordinator process"

  step "check (logs): the native core's lines reach the coordinator's server.log through JUL"
  # The rotation's "new CA roots" line, written after Trino set up its logging, under the
  # logger io.consulconnect.native.identity.publisher (README "Logs"); drained within a second.
  deadline=$(( $(date +%s) + 15 ))
  until grep -q 'io\.consulconnect\.native\.identity\.publisher.*consul-connect: new CA roots' "$W/coord/server.log"; do
    [ "$(date +%s)" -lt "$deadline" ] \
      || die "no 'new CA roots' line of the logger io.consulconnect.native.identity.publisher in $W/coord/server.log"
    sleep 1
  done
  log "server.log: $(grep 'io\.consulconnect\.native\.identity\.publisher.*consul-connect: new CA roots' "$W/coord/server.log" | tail -1 | cut -c1-240)"
}

step "check (metrics): the MBeans moved with the denied client and the rotation"
log "authorization ($coord_id) after evil: $(show AZ1c "${AUTHZ_COLS[@]}") deniedbyreason: $(reasons AZ1c)"
for c in denied deniedbyintention allowed; do
  gt "${AZ1c[$c]:-}" "${AZ0c[$c]:-}" || die "authorization MBean: $c did not grow (${AZ0c[$c]:-} -> ${AZ1c[$c]:-})"
done
gt "$(reason_count AZ1c denied)" "$(reason_count AZ0c denied)" \
  || die "authorization MBean: deniedbyreason 'denied' did not grow ($(reasons AZ0c)-> $(reasons AZ1c))"
log "evil's refusal: denied ${AZ0c[denied]:-} -> ${AZ1c[denied]:-}, deniedbyintention ${AZ0c[deniedbyintention]:-} -> ${AZ1c[deniedbyintention]:-}, deniedbyreason[denied] $(reason_count AZ0c denied) -> $(reason_count AZ1c denied); web: allowed ${AZ0c[allowed]:-} -> ${AZ1c[allowed]:-}"
log "identity ($coord_id) after the rotation: $(show ID1c "${ID_COLS[@]}")"
log "identity ($worker_id) after the rotation: $(show ID1w "${ID_COLS[@]}")"
# The serials as the coordinator's HTTPS server presented them (check 5, openssl) and as
# the MBean shows them, compared as hex digits.
[ "$(hexnorm "${ID0c[serial]:-}")" = "$(hexnorm "$old_serial")" ] \
  || die "identity MBean: serial '${ID0c[serial]:-}' before the rotation is not the one the coordinator presented ('$old_serial')"
gt "${ID1c[leafrotations]:-}" "${ID0c[leafrotations]:-}" \
  || die "identity MBean: leafrotations did not grow across the CA rotation (${ID0c[leafrotations]:-} -> ${ID1c[leafrotations]:-})"
[ -n "${ID1c[serial]:-}" ] && [ "${ID1c[serial]:-}" != "${ID0c[serial]:-}" ] \
  || die "identity MBean: serial did not change across the CA rotation ('${ID0c[serial]:-}' -> '${ID1c[serial]:-}')"
[ "$(hexnorm "${ID1c[serial]:-}")" = "$(hexnorm "$new_serial")" ] \
  || die "identity MBean: serial '${ID1c[serial]:-}' after the rotation is not the one the coordinator presents ('$new_serial')"
[ -n "${ID1c[notafter]:-}" ] || die "identity MBean: empty notafter after the rotation"
gt "${ID1c[secondstoexpiry]:-}" 0 || die "identity MBean: secondstoexpiry '${ID1c[secondstoexpiry]:-}' not > 0 after the rotation"
log "CA rotation: leafrotations ${ID0c[leafrotations]:-} -> ${ID1c[leafrotations]:-}, serial ${ID0c[serial]:-} -> ${ID1c[serial]:-} (as presented: $old_serial -> $new_serial), notafter ${ID0c[notafter]:-} -> ${ID1c[notafter]:-}, secondstoexpiry ${ID1c[secondstoexpiry]:-}"

step "PASS (coordinator ready after $(cat "$W/coord/ready-after")s, worker after $(cat "$W/worker/ready-after")s)"
