#!/usr/bin/env bash
# End-to-end, per Trino release: who a Consul Connect client is inside Trino, what Trino's
# file-based access control makes of it, and what a refused client is told.
#
#   bash tests/trino/e2e-identity.sh [435|476|483]      (default 476; PCC_KEEP=1 keeps logs)
#
# One Trino coordinator of that release on 127.0.0.1 (it also runs the tasks), HTTPS only
# with client certificates, set up as tests/trino/lib.sh does for e2e-mtls.sh (our plugin zip
# PCC_PLUGIN_ZIP in plugin/, its jar as -javaagent), the tpch connector as catalog "tpch",
# access-control.name=file with catalog rules by group; a real Consul dev agent with the
# intentions web, api, newcomer -> trino allow, evil -> trino deny. 435 and 483 are
# assembled from Maven Central (assemble-server.sh, run here; minutes on a fresh machine);
# 476 is the trino-server-core tarball (ensure-trino.sh) plus the tpch plugin zip.
# Trino 435 runs on JDK 17, 476 and 483 on Temurin 25 (lib.sh picks the JDK).
#
# Checks (a "FAIL: ..." line and a non-zero exit on the first miss):
#   1. web's user is "web" (default namespace and partition: the bare service name); on
#      Trino >= 480 current_groups() holds consul:service:web, consul:namespace:default,
#      consul:partition:default, consul:datacenter:dc1 (Trino 480 added
#      CertificateAuthenticator.createAuthenticatedIdentity); before 480 it is empty.
#   2. rules.json lets group consul:service:web read catalog tpch and refuses tpch to
#      everyone else: on >= 480 web counts 25 nations and api (user "api") gets "Access
#      Denied: Cannot access catalog tpch"; before 480 (no groups) both are refused.
#   3. evil (intention deny), through curl presenting its leaf: HTTP 401, a short body
#      "Consul Connect refused the client certificate (denied)" with no stack trace; the
#      coordinator's log has the full reason with evil's SPIFFE id; through the CLI,
#      "Authentication failed: ..." with the same code.
#   4. a client without a certificate: 401 (curl and CLI).
#   5. (local decisions, the default here: PCC_DECISIONS=local) with the Consul agent
#      stopped, a client never seen before (newcomer, intention allow) runs a query, decided
#      from the kept intentions list, and evil is still refused as denied.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

release="${1:-476}"
case "$release" in
  435 | 476 | 483) ;;
  *) echo "usage: $0 [435|476|483]" >&2; exit 2 ;;
esac
TRINO_VERSION="$release"
# Local decisions (consul.authz.decisions=local) on every release here; e2e-mtls.sh,
# e2e-expiry.sh and e2e-topology.sh run the default (agent).
PCC_DECISIONS="${PCC_DECISIONS:-local}"
source "$here/lib.sh"

step "prepare (Trino $release with tpch, CLI, Consul)"
PCC_TRINO_PLUGINS=tpch
pcc_init
trap pcc_on_fail EXIT
W="$PCC_WORK"
log "Trino $TRINO_VERSION at $TRINO_HOME; JDK $TRINO_JAVA_HOME; CLI $(basename "$TRINO_CLI_JAR"); tpch from $TRINO_PLUGIN_TPCH"
# Trino 480 added createAuthenticatedIdentity: only from there on can a certificate
# authenticator give the identity groups.
with_groups=0
[ "$release" -ge 480 ] && with_groups=1

step "start Consul"
consul_start
consul_intention web trino allow
consul_intention api trino allow
consul_intention evil trino deny
consul_intention newcomer trino allow
for svc in web api evil newcomer; do consul_leaf_pem "$svc" "$W/$svc.pem"; done
consul_roots_pem "$W/roots.pem"
trust_domain="$(curl -fsS "$CONSUL_HTTP/v1/agent/connect/ca/roots" | jq -r .TrustDomain)"
log "Consul: trust domain $trust_domain; intentions web, api, newcomer -> trino allow, evil -> trino deny; decisions: $PCC_DECISIONS"

step "configure the coordinator (one node, tpch, file-based access control by group)"
C="$W/coord"
trino_node_init "$C" coordinator
trino_auth_certificate "$C"
trino_prop "$C" node-scheduler.include-coordinator true
trino_catalog "$C" tpch
cat >"$C/etc/access-control.properties" <<EOF
access-control.name=file
security.config-file=$C/etc/rules.json
EOF
# Group values are regular expressions (":" is a plain character there).
cat >"$C/etc/rules.json" <<'EOF'
{
  "catalogs": [
    {"group": "consul:service:web", "catalog": "tpch", "allow": "read-only"},
    {"catalog": "tpch", "allow": "none"}
  ]
}
EOF
log "rules.json: $(jq -c .catalogs "$C/etc/rules.json")"

step "start the coordinator"
trino_node_start "$C"
trino_wait_ready "$C" 300
url="$(trino_url "$C")"
version="$(curl -ksS "$url/v1/info" | jq -r .nodeVersion.version)"
[ "$version" = "$release" ] || die "the coordinator reports version '$version', not $release"
log "coordinator: Trino $version at $url"

# The CLI colours its error messages; strip that for matching and logging.
plain() { sed 's/\x1b\[[0-9;]*m//g'; }
# q CLIENT USER SQL: the query's rows (status 0), or its error (status 1), on stdout.
q() {
  local pem="$W/$1.pem"
  [ "$1" = - ] && pem=-
  trino_query "$C" "$pem" "$2" "$3" 2>&1 | plain
  return "${PIPESTATUS[0]}"
}
# first_error TEXT: the CLI's one-line message (no stack trace, no "Query ... failed:").
first_error() { grep -m1 -vE '^[[:space:]]+at |^$' <<<"$1" | cut -c1-300; }

step "check 1: users and groups"
declare -A GROUPS_OF
for svc in web api; do
  out="$(q "$svc" "$svc" "SELECT current_user")" || die "$svc: SELECT current_user failed: $(first_error "$out")"
  [ "$out" = "$svc" ] || die "$svc: current_user is '$out', expected '$svc'"
  if out="$(q "$svc" "$svc" "SELECT array_join(array_sort(current_groups()), ' ')")"; then
    GROUPS_OF[$svc]="$out"
    log "$svc: current_user = $svc, current_groups() = [${out}]"
  elif grep -qiE "current_groups.*(not registered|not found)|function .*current_groups" <<<"$out"; then
    GROUPS_OF[$svc]="(no current_groups function)"
    log "$svc: current_user = $svc; current_groups() does not exist in Trino $release: $(first_error "$out")"
  else
    die "$svc: SELECT current_groups() failed: $(first_error "$out")"
  fi
done
if [ "$with_groups" = 1 ]; then
  for g in consul:service:web consul:namespace:default consul:partition:default consul:datacenter:dc1; do
    [[ " ${GROUPS_OF[web]} " == *" $g "* ]] || die "web's groups '${GROUPS_OF[web]}' lack $g"
  done
  [[ " ${GROUPS_OF[api]} " == *" consul:service:api "* ]] || die "api's groups '${GROUPS_OF[api]}' lack consul:service:api"
  [[ " ${GROUPS_OF[api]} " != *" consul:service:web "* ]] || die "api's groups '${GROUPS_OF[api]}' hold consul:service:web"
  log "Trino $release >= 480: the groups come with the identity"
else
  for svc in web api; do
    [ -z "${GROUPS_OF[$svc]}" ] || [ "${GROUPS_OF[$svc]}" = "(no current_groups function)" ] \
      || die "Trino $release < 480, yet $svc has groups '${GROUPS_OF[$svc]}'"
  done
  log "Trino $release < 480: no groups (no createAuthenticatedIdentity before 480)"
fi

step "check 2: file-based access control by group on catalog tpch"
sql="SELECT count(*) FROM tpch.tiny.nation"
denied_msg="Access Denied: Cannot access catalog tpch"
web_tpch="$(q web web "$sql")" && web_rc=0 || web_rc=$?
api_tpch="$(q api api "$sql")" && api_rc=0 || api_rc=$?
log "web: $sql -> $( [ "$web_rc" = 0 ] && echo "$web_tpch" || echo "refused: $(first_error "$web_tpch")")"
log "api: $sql -> $( [ "$api_rc" = 0 ] && echo "$api_tpch" || echo "refused: $(first_error "$api_tpch")")"
if [ "$with_groups" = 1 ]; then
  [ "$web_rc" = 0 ] && [ "$web_tpch" = 25 ] || die "web (group consul:service:web) should read tpch: '$(first_error "$web_tpch")'"
else
  [ "$web_rc" != 0 ] && grep -qF "$denied_msg" <<<"$web_tpch" \
    || die "Trino $release has no groups, so web should be refused tpch: '$(first_error "$web_tpch")'"
fi
[ "$api_rc" != 0 ] && grep -qF "$denied_msg" <<<"$api_tpch" \
  || die "api (not in consul:service:web) should be refused tpch: '$(first_error "$api_tpch")'"

step "check 3: a client denied by an intention gets 401 with a short reason"
# curl checks no chain without also checking the host name, and a Consul leaf has no IP
# SAN: the presented chain is verified against the Consul roots with openssl (no host-name
# check), and curl is pinned to the public key of that very leaf.
hello="$(openssl s_client -connect "127.0.0.1:$(cat "$C/port")" -CAfile "$W/roots.pem" -verify_return_error \
  </dev/null 2>/dev/null)" || die "the coordinator's chain does not verify against the Consul roots"
pin="$(openssl x509 -pubkey -noout <<<"$hello" | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
# post CLIENT_PEM|- USER: POST /v1/statement "SELECT 1"; HTTP status on stdout, body in $W/body.
post() {
  local cert=()
  [ "$1" = - ] || cert=(--cert "$1")
  curl -sS -k --pinnedpubkey "sha256//$pin" --max-time 30 "${cert[@]}" -D "$W/headers" -o "$W/body" \
    -w '%{http_code}' -H "X-Trino-User: $2" --data-binary 'SELECT 1' "$url/v1/statement"
}
code="$(post "$W/web.pem" web)" || die "curl as web failed"
[ "$code" = 200 ] || die "curl as web: HTTP $code, expected 200: $(head -c 300 "$W/body")"
log "curl as web (control): HTTP 200"
code="$(post "$W/evil.pem" evil)" || die "curl as evil failed"
size="$(wc -c <"$W/body")"
ctype="$(grep -i '^content-type:' "$W/headers" | tr -d '\r' | cut -d' ' -f2-)"
log "curl as evil: HTTP $code, $ctype, $size bytes: $(head -c 300 "$W/body" | tr '\n' ' ')"
[ "$code" = 401 ] || die "evil: HTTP $code, expected 401"
grep -qF "Consul Connect refused the client certificate (denied)" "$W/body" \
  || die "evil: the body does not say 'Consul Connect refused the client certificate (denied)'"
[ "$size" -lt 200 ] || die "evil: the body has $size bytes, expected a short reason (< 200)"
! grep -qE 'Exception|at io\.' "$W/body" || die "evil: the body holds a stack trace"
line="$(plain <"$C/server.log" | grep -m1 -F "consul-connect: denied spiffe://$trust_domain/ns/default/dc/dc1/svc/evil (denied): " || true)"
[ -n "$line" ] || die "the coordinator's log has no 'consul-connect: denied spiffe://$trust_domain/ns/default/dc/dc1/svc/evil (denied): ...' line"
log "coordinator log: ${line:0:400}"
if out="$(q evil evil "SELECT 1")"; then die "evil ran a query through the CLI: $out"; fi
log "CLI as evil: $(first_error "$out")"
grep -qF "Authentication failed: Consul Connect refused the client certificate (denied)" <<<"$out" \
  || die "CLI as evil: expected 'Authentication failed: Consul Connect refused the client certificate (denied)'"

step "check 4: a client without a certificate gets 401"
code="$(post - web)" || die "curl without a certificate failed"
log "curl without a certificate: HTTP $code: $(head -c 200 "$W/body" | tr '\n' ' ')"
[ "$code" = 401 ] || die "no certificate: HTTP $code, expected 401"
if out="$(q - web "SELECT 1")"; then die "a client without a certificate ran a query: $out"; fi
log "CLI without a certificate: $(first_error "$out")"
grep -qiE 'Authentication failed|Unauthorized|401' <<<"$out" \
  || die "CLI without a certificate: refused, but not for authentication: $(first_error "$out")"

if [ "$PCC_DECISIONS" = local ]; then
  step "check 5: local decisions go on without the agent (a never-seen client, a denied one)"
  # The last intentions list stays in force (consul.authz.intentions-max-age, 10 min): a
  # client the node has never seen is decided in process, and evil, once its cached deny
  # (5 s) is over, is refused by the list (denied), not for want of an agent.
  kill "$CONSUL_PID"; wait "$CONSUL_PID" 2>/dev/null || true
  curl -fsS --max-time 2 "$CONSUL_HTTP/v1/agent/self" >/dev/null 2>&1 && die "the Consul agent still answers"
  sleep 6
  out="$(q newcomer newcomer "SELECT current_user")" || die "newcomer (never seen, agent gone) refused: $(first_error "$out")"
  [ "$out" = newcomer ] || die "newcomer: current_user is '$out'"
  log "agent gone: newcomer (never seen before) -> current_user = $out"
  code="$(post "$W/evil.pem" evil)" || die "curl as evil failed"
  [ "$code" = 401 ] && grep -qF "(denied)" "$W/body" \
    || die "evil with the agent gone: HTTP $code, expected 401 (denied): $(head -c 300 "$W/body")"
  log "agent gone: evil -> HTTP $code $(head -c 200 "$W/body" | tr '\n' ' ')"
fi

step "PASS: Trino $release (coordinator ready after $(cat "$C/ready-after")s)"
