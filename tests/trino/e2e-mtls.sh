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
#      effect without a restart; a CA rotation reaches the HTTPS server without a restart.
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
trino_node_init "$W/coord" coordinator
trino_auth_certificate "$W/coord"
trino_node_init "$W/worker" worker "$W/coord"
trino_auth_certificate "$W/worker"
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

{
  coord_port="$(cat "$W/coord/port")"
  serial_of() {
    openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null \
      | sed 's/^serial=//'
  }
  refused() { # CLIENT_PEM USER: the query must fail; prints the CLI's error line
    local out
    if out="$(trino_query "$W/coord" "$1" "$2" "SELECT 1" 2>&1 | plain; exit "${PIPESTATUS[0]}")"; then
      return 1
    fi
    # Trino 476 turns any exception from a certificate authenticator other than its own
    # user-mapping one into "500 Authentication error" (not 401); the client is refused
    # either way, and the body carries our reason.
    echo "$out" | grep -oiE 'unauthorized|statusCode=401|statusCode=500|Authentication error' | head -1
  }

  step "check (plugin): evil, denied by an intention, is refused with Consul's reason"
  consul_intention evil trino deny
  consul_leaf_pem evil "$W/evil-consul.pem"
  why="$(refused "$W/evil-consul.pem" evil)" || die "evil ran a query"
  log "evil: refused ($why)"
  grep -q "consul-connect: denied .*svc/evil" "$W/coord/server.log" \
    || die "the coordinator log does not say why evil was refused"
  log "coordinator log: $(grep -m1 "consul-connect: denied .*svc/evil" "$W/coord/server.log" | cut -c1-300)"

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
  old_serial="$(serial_of "$coord_port")"
  [ -n "$old_serial" ] || die "cannot read the coordinator's serial"
  curl -fsS -X PUT "$CONSUL_HTTP/v1/connect/ca/configuration" \
    -d '{"Provider":"consul","Config":{"PrivateKeyType":"ec","PrivateKeyBits":384}}' >/dev/null
  rotated_at=$(date +%s)
  # Consul re-issues leaves after a CA rotation with up to 30 s of jitter; then our plugin
  # rewrites the files and Trino reloads them within its refresh time (10 s here).
  deadline=$(( rotated_at + 90 ))
  while new_serial="$(serial_of "$coord_port")"; [ "$new_serial" = "$old_serial" ] || [ -z "$new_serial" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the coordinator still presents serial $old_serial 90 s after the CA rotation"
    sleep 1
  done
  log "coordinator now presents serial $new_serial (was $old_serial), $(( $(date +%s) - rotated_at )) s after the CA rotation"
  out="$(trino_query "$W/coord" "$W/web.pem" web "SELECT current_user, (SELECT count(*) FROM system.runtime.nodes WHERE state = 'active')")" \
    || die "queries fail after the rotation"
  [ "$out" = "web,2" ] || die "after the rotation expected 'web,2', got '$out'"
  if [ -n "$coord_pid" ]; then kill -0 "$coord_pid" || die "the coordinator restarted"; fi
  log "after the rotation: queries work with the old client leaf, 2 active nodes, same coordinator process"
}

step "PASS (coordinator ready after $(cat "$W/coord/ready-after")s, worker after $(cat "$W/worker/ready-after")s)"
