# Shell functions to run a real Consul dev agent and real Trino nodes on 127.0.0.1, the
# nodes speaking only HTTPS with Consul-issued certificates (see tests/trino/NOTES.md for
# every Trino property used and why).
#
# Source it from a bash script that has `set -euo pipefail`; it sets no options itself.
# Every process started here is recorded in PCC_PIDS; pcc_init installs an EXIT trap that
# stops them all, whatever happens.
#
#   source tests/trino/lib.sh
#   pcc_init                                  # work dir, EXIT trap, Trino/Consul/JDK paths
#   consul_start                              # sets CONSUL_HTTP (http://127.0.0.1:port)
#   consul_intention web trino allow
#   consul_leaf_pem web "$PCC_WORK/web.pem"   # a client identity: key + chain, one PEM file
#   consul_roots_pem "$PCC_WORK/roots.pem"
#   trino_node_init "$W/coord" coordinator    # plugin/, etc/ (jvm.config with our -javaagent)
#   trino_auth_certificate "$W/coord"         # client-certificate authentication (see below)
#   trino_node_init "$W/worker" worker "$W/coord"
#   trino_auth_certificate "$W/worker"        # so the worker, too, asks for client certs
#   trino_node_start "$W/coord"; trino_node_start "$W/worker"
#   trino_wait_ready "$W/coord"; trino_wait_ready "$W/worker"
#   trino_query "$W/coord" "$PCC_WORK/web.pem" web "SELECT current_user"
#   trino_jmx "$W/coord"                      # Trino's JMX connector as catalog "jmx"
#                                             # (needs PCC_TRINO_JMX=1 before pcc_init)
#   trino_catalog "$W/coord" tpch             # a Trino connector plugin as catalog "tpch"
#                                             # (needs PCC_TRINO_PLUGINS=tpch before pcc_init)
#
# Knobs (environment):
#   PCC_CACHE        cache root for downloads (default ~/.cache/presto-consul-connect)
#   PCC_KEEP=1       keep the work dir (logs, configs) after exit
#   PCC_PLUGIN_ZIP   our plugin zip (required): every node gets it in plugin/ and its jar as
#                    -javaagent in jvm.config, as the README's install section says
#   PCC_TRINO_SERVICE  the nodes' Consul service (default trino)
#   PCC_DECISIONS    the nodes' consul.authz.decisions (agent|local; unset: the default)
#   TRINO_VERSION    the Trino release (default 476: the trino-server-core tarball of
#                    ensure-trino.sh; any other release is assembled from Maven Central by
#                    assemble-server.sh, which has no JMX connector past 449)
#   TRINO_JAVA_HOME  JDK for Trino and the CLI (default: Temurin 25 for 476; for an
#                    assembled release the oldest JDK in /usr/lib/jvm that the release
#                    accepts, e.g. 17 for 435, 25 for 483)
#   TRINO_HEAP       -Xmx of each node (default 1G)
#   PCC_TRINO_CDS=0  do not use class-data-sharing archives (see trino_cds_flags)
#   PCC_TRINO_JMX=1  (set by a script before pcc_init) also provide Trino's JMX connector
#                    plugin, for trino_jmx
#   PCC_TRINO_PLUGINS  (set by a script before pcc_init) Trino connector plugins to provide
#                    for trino_catalog, space-separated names without "trino-" (e.g. tpch);
#                    from assemble-server.sh (--plugins-only for 476)
#   PCC_QUERY_FORMAT the CLI's output format for trino_query (default CSV_UNQUOTED)

PCC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PCC_PIDS=()
PCC_JAVA_HOME_GIVEN="${TRINO_JAVA_HOME:-}"
TRINO_JAVA_HOME="${TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
TRINO_HEAP="${TRINO_HEAP:-1G}"
PCC_CACHE_ROOT="${PCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presto-consul-connect}"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# pcc_wait SECONDS WHAT COMMAND...: runs COMMAND every half second until it succeeds; after
# SECONDS, fails the script with "FAIL: WHAT".
pcc_wait() {
  local limit=$(( $(date +%s) + $1 )) what="$2"
  shift 2
  until "$@"; do
    [ "$(date +%s)" -lt "$limit" ] || die "$what"
    sleep 0.5
  done
}

# elapsed FILE: seconds since the timestamp stored in FILE (date +%s.%N), e.g. "12.3".
elapsed() { awk -v s="$(cat "$1")" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }

# step TEXT: a progress line with the seconds since lib.sh was sourced.
PCC_T0=$(date +%s.%N)
step() { log "== $* (t+$(awk -v s="$PCC_T0" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')s)"; }

# pcc_on_fail: EXIT trap of the end-to-end scripts (install after pcc_init with
# `trap pcc_on_fail EXIT`): on failure, the last ERROR/WARN lines of each node's log; then
# pcc_cleanup.
pcc_on_fail() {
  local rc=$? f
  if [ "$rc" -ne 0 ] && [ -n "${PCC_WORK:-}" ]; then
    for f in "$PCC_WORK"/coord/server.log "$PCC_WORK"/worker/server.log; do
      [ -f "$f" ] || continue
      log "---- last ERROR/WARN lines of $f"
      grep -E '\b(ERROR|WARN)\b' "$f" | tail -15 | cut -c1-400 >&2 || true
    done
    [ "${PCC_KEEP:-0}" = 1 ] || log "(set PCC_KEEP=1 to keep $PCC_WORK)"
  fi
  pcc_cleanup
}

# pcc_read_vars: read the KEY=VALUE lines ensure-trino.sh and assemble-server.sh print
# (TRINO_VERSION, TRINO_HOME, TRINO_CLI_JAR, TRINO_JAVA_MIN, TRINO_JMX_PLUGIN,
# TRINO_PLUGIN_<NAME>) from standard input into global variables; take exactly those,
# nothing else is evaluated.
pcc_read_vars() {
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      TRINO_VERSION | TRINO_HOME | TRINO_CLI_JAR | TRINO_JAVA_MIN | TRINO_JMX_PLUGIN) ;;
      TRINO_PLUGIN_*) [[ "$key" =~ ^TRINO_PLUGIN_[A-Z0-9_]+$ ]] || continue ;;
      *) continue ;;
    esac
    printf -v "$key" '%s' "$value"
  done
}

# pcc_find_jdk MIN: the JDK home under /usr/lib/jvm with the lowest feature release >= MIN
# (read from its release file), so each Trino runs on the oldest Java it accepts.
pcc_find_jdk() {
  local d v best="" best_v=1000
  for d in /usr/lib/jvm/*/; do
    d="$(readlink -f "${d%/}")"
    [ -x "$d/bin/java" ] && [ -f "$d/release" ] || continue
    v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release")"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if [ "$v" -ge "$1" ] && [ "$v" -lt "$best_v" ]; then best="$d"; best_v="$v"; fi
  done
  [ -n "$best" ] && echo "$best"
}

# pcc_init: a work dir (PCC_WORK, removed at exit unless PCC_KEEP=1), the EXIT trap,
# and TRINO_HOME / TRINO_CLI_JAR / CONSUL_BIN (and TRINO_JMX_PLUGIN with PCC_TRINO_JMX=1,
# TRINO_PLUGIN_<NAME> for each of PCC_TRINO_PLUGINS) for TRINO_VERSION (default 476).
pcc_init() {
  local tool
  for tool in curl jq openssl python3 unzip awk; do
    command -v "$tool" >/dev/null || { log "missing tool: $tool"; return 1; }
  done
  PCC_WORK="$(mktemp -d "${TMPDIR:-/tmp}/pcc-trino.XXXXXX")"
  trap pcc_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local args=() plugins=() p var
  read -r -a plugins <<<"${PCC_TRINO_PLUGINS:-}"
  if [ -z "${TRINO_VERSION:-}" ] || [ "$TRINO_VERSION" = 476 ]; then
    [ "${PCC_TRINO_JMX:-0}" = 1 ] && args+=(jmx)
    pcc_read_vars < <(bash "$PCC_ROOT/tests/trino/ensure-trino.sh" "${args[@]}")
    if [ "${#plugins[@]}" -gt 0 ]; then
      pcc_read_vars < <(TRINO_VERSION="$TRINO_VERSION" bash "$PCC_ROOT/tests/trino/assemble-server.sh" --plugins-only "${plugins[@]}")
    fi
  else
    # No server tarball on Maven Central for this release: assembled (cold: minutes).
    args=("${plugins[@]}")
    [ "${PCC_TRINO_JMX:-0}" = 1 ] && args+=(jmx)
    pcc_read_vars < <(TRINO_VERSION="$TRINO_VERSION" bash "$PCC_ROOT/tests/trino/assemble-server.sh" "${args[@]}")
    if [ -z "$PCC_JAVA_HOME_GIVEN" ] && [[ "${TRINO_JAVA_MIN:-}" =~ ^[0-9]+$ ]]; then
      TRINO_JAVA_HOME="$(pcc_find_jdk "$TRINO_JAVA_MIN")" \
        || { log "Trino $TRINO_VERSION needs Java $TRINO_JAVA_MIN+: none in /usr/lib/jvm (set TRINO_JAVA_HOME)"; return 1; }
    fi
  fi
  [ -x "${TRINO_HOME:-}/bin/launcher" ] && [ -f "${TRINO_CLI_JAR:-}" ] \
    || { log "no Trino ${TRINO_VERSION:-476} (see the messages of ensure-trino.sh / assemble-server.sh above)"; return 1; }
  [ -x "$TRINO_JAVA_HOME/bin/java" ] || { log "no JDK at $TRINO_JAVA_HOME (Trino $TRINO_VERSION needs Java ${TRINO_JAVA_MIN:-24}+; set TRINO_JAVA_HOME)"; return 1; }
  if [ "${PCC_TRINO_JMX:-0}" = 1 ]; then
    [ -d "${TRINO_JMX_PLUGIN:-}" ] || { log "no JMX connector for Trino $TRINO_VERSION"; return 1; }
  fi
  for p in "${plugins[@]}"; do
    var="TRINO_PLUGIN_$(echo "$p" | tr 'a-z-' 'A-Z_')"
    [ -d "${!var:-}" ] || { log "no Trino plugin $p for Trino $TRINO_VERSION"; return 1; }
  done
  CONSUL_BIN="${CONSUL_BIN:-$(bash "$PCC_ROOT/tests/scripts/ensure-consul.sh")}"
}

# pcc_cleanup: TERM every recorded process, wait up to 20 s, then KILL what is left.
# Only the pids recorded here are signalled: nothing else on the machine is touched.
pcc_cleanup() {
  local pid i alive
  for pid in "${PCC_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 200); do
    alive=0
    for pid in "${PCC_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PCC_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "${PCC_KEEP:-0}" = 1 ]; then
    log "kept $PCC_WORK"
  else
    rm -rf "${PCC_WORK:-/nonexistent}"
  fi
}

# free_port: a TCP port free on 127.0.0.1 (and as UDP, since Consul's serf uses both),
# never one handed out before in this run (the ports are only bound later, by the
# processes we start, so two calls must not return the same one).
free_port() {
  python3 - "$PCC_WORK/ports" <<'PY'
import socket, sys
path = sys.argv[1]
try:
    used = set(open(path).read().split())
except FileNotFoundError:
    used = set()
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if str(p) in used:
            continue
        u.bind(("127.0.0.1", p))
        open(path, "a").write(f"{p}\n")
        print(p)
        break
    except OSError:
        pass
    finally:
        u.close(); t.close()
PY
}

# ---------------------------------------------------------------- Consul

# consul_start [ARGS...]: a dev agent (in-memory, built-in Connect CA) on free loopback
# ports, no DNS or gRPC, plus ARGS (e.g. -hcl '...'). Sets CONSUL_HTTP and CONSUL_PID;
# waits until the CA has a root.
consul_start() {
  local dir="$PCC_WORK/consul" http i
  mkdir -p "$dir"
  http="$(free_port)"
  "$CONSUL_BIN" agent -dev "$@" -bind=127.0.0.1 -client=127.0.0.1 -advertise=127.0.0.1 \
    -node=pcc-trino -log-level=warn -dns-port=-1 -grpc-port=-1 -grpc-tls-port=-1 \
    -disable-host-node-id -http-port="$http" -serf-lan-port="$(free_port)" \
    -serf-wan-port="$(free_port)" -server-port="$(free_port)" \
    </dev/null >"$dir/consul.log" 2>&1 &
  CONSUL_PID=$!
  PCC_PIDS+=("$CONSUL_PID")
  CONSUL_HTTP="http://127.0.0.1:$http"
  for i in $(seq 1 600); do
    curl -fsS "$CONSUL_HTTP/v1/agent/connect/ca/roots" 2>/dev/null | grep -q '"RootCert"' && return 0
    kill -0 "$CONSUL_PID" 2>/dev/null || { log "consul exited:"; cat "$dir/consul.log" >&2; return 1; }
    sleep 0.1
  done
  log "consul did not become ready"; return 1
}

# consul_curl PATH [CURL_ARGS...]: a request to the Consul HTTP API at CONSUL_HTTP (the dev
# agent of consul_start, or a server of topo_start): over HTTPS checked against
# PCC_CONSUL_CA when set, with the headers in the file PCC_CONSUL_HEADERS when set (the
# topology's management token, kept out of the process list).
consul_curl() {
  local path="$1" args=()
  shift
  [ -z "${PCC_CONSUL_CA:-}" ] || args+=(--cacert "$PCC_CONSUL_CA")
  [ -z "${PCC_CONSUL_HEADERS:-}" ] || args+=(-H "@$PCC_CONSUL_HEADERS")
  curl -fsS "${args[@]}" "$@" "$CONSUL_HTTP$path"
}

# consul_leaf_pem SERVICE FILE: the agent's leaf for SERVICE as one PEM file holding the
# private key, then the leaf certificate, then any intermediates (never the roots): one
# key entry, as airlift's PEM keystore loader (server) and the Trino client want it.
# Written 0600 and renamed into place, so a reader never sees half a file.
consul_leaf_pem() {
  local svc="$1" out="$2"
  (
    umask 077
    consul_curl "/v1/agent/connect/ca/leaf/$svc" \
      | jq -er '.PrivateKeyPEM, .CertPEM' | sed '/^$/d' >"$out.tmp"
  )
  mv "$out.tmp" "$out"
}

# consul_roots_pem FILE: every current and retiring root (and its intermediates).
consul_roots_pem() {
  consul_curl /v1/agent/connect/ca/roots \
    | jq -er '.Roots[] | .RootCert, (.IntermediateCerts // [] | .[])' | sed '/^$/d' >"$1.tmp"
  mv "$1.tmp" "$1"
}

# consul_intention SRC DST allow|deny: create or replace the one intention SRC -> DST.
consul_intention() {
  consul_curl "/v1/connect/intentions/exact?source=$1&destination=$2" -X PUT \
    -d "{\"Action\":\"$3\"}" >/dev/null
}

# ---------------------------------------------------------------- Consul topology
# A production-shaped Consul on 127.0.0.1 (free ports, data under PCC_WORK/topo, every
# process in PCC_PIDS): N servers (Raft, the Connect CA) and one client agent per Trino
# node, one datacenter; ACLs on with default_policy "deny" (the test holds the management
# token, client agents have node-identity tokens, each Trino node a token of its own);
# gossip encryption; TLS from a test CA made with `consul tls ca create` / `consul tls cert
# create` for server RPC (verify_incoming, verify_server_hostname) and for the HTTP API
# over HTTPS. Servers serve HTTPS only; a client agent serves HTTPS or a unix socket.
#
#   topo_start 3                      # servers; CONSUL_HTTP = a server's https URL, and
#                                     # consul_curl/consul_intention/... use the management token
#   topo_client coord https           # client agent "coord": HTTPS on a free port
#   topo_client worker unix           # client agent "worker": HTTP on a unix socket only
#   topo_agent_address coord          # https://127.0.0.1:PORT or unix:///…/consul.sock
#   topo_token trino-node 'service "trino" { policy = "write" }'   # prints a new token
#   topo_agent_stop coord; topo_agent_start coord
#   topo_leader                       # the name of the leader server (server-1 …)

# topo_start N: the CA and certificates, then N servers; waits for a leader and for the
# ACL system (bootstrapped with a management token of ours).
topo_start() {
  local n="$1" i
  TOPO="$PCC_WORK/topo"
  TOPO_CA="$TOPO/tls/consul-agent-ca.pem"
  TOPO_SERVERS=()
  mkdir -p "$TOPO/tls"
  (
    cd "$TOPO/tls"; umask 077
    "$CONSUL_BIN" tls ca create -days 2 >/dev/null
    for i in $(seq 1 "$n"); do "$CONSUL_BIN" tls cert create -server -dc dc1 -days 2 >/dev/null; done
    python3 -c 'import uuid; print(uuid.uuid4())' >management-token
    "$CONSUL_BIN" keygen >gossip-key
    printf 'X-Consul-Token: %s\n' "$(cat management-token)" >management.headers
  )
  PCC_CONSUL_CA="$TOPO_CA"
  PCC_CONSUL_HEADERS="$TOPO/tls/management.headers"
  for i in $(seq 1 "$n"); do
    TOPO_SERVERS+=("server-$i")
    mkdir -p "$TOPO/server-$i"
    free_port >"$TOPO/server-$i/serf"
  done
  for i in $(seq 1 "$n"); do
    free_port >"$TOPO/server-$i/https"
    cat >"$TOPO/server-$i/agent.hcl" <<EOF
server = true
bootstrap_expect = $n
ports {
  https = $(cat "$TOPO/server-$i/https")
  http = -1
  serf_lan = $(cat "$TOPO/server-$i/serf")
  serf_wan = $(free_port)
  server = $(free_port)
}
acl {
  tokens {
    initial_management = "$(cat "$TOPO/tls/management-token")"
    agent = "$(cat "$TOPO/tls/management-token")"
  }
}
tls {
  defaults {
    cert_file = "$TOPO/tls/dc1-server-consul-$((i - 1)).pem"
    key_file = "$TOPO/tls/dc1-server-consul-$((i - 1))-key.pem"
  }
}
EOF
    topo_agent_start "server-$i"
  done
  topo_use_server
  for i in $(seq 1 600); do
    consul_curl /v1/acl/token/self >/dev/null 2>&1 && [ -n "$(topo_leader)" ] && return 0
    sleep 0.1
  done
  log "the Consul servers elected no leader or their ACLs did not come up"; return 1
}

# topo_common_hcl NAME: the settings every agent of the topology shares.
topo_common_hcl() {
  local join="" s
  for s in "${TOPO_SERVERS[@]}"; do join+="\"127.0.0.1:$(cat "$TOPO/$s/serf")\", "; done
  cat <<EOF
node_name = "$1"
datacenter = "dc1"
data_dir = "$TOPO/$1/data"
bind_addr = "127.0.0.1"
advertise_addr = "127.0.0.1"
client_addr = "127.0.0.1"
disable_host_node_id = true
log_level = "${TOPO_LOG_LEVEL:-info}"
encrypt = "$(cat "$TOPO/tls/gossip-key")"
retry_join = [${join%, }]
retry_interval = "1s"
ports {
  dns = -1
  grpc = -1
  grpc_tls = -1
}
connect { enabled = true }
acl {
  enabled = true
  default_policy = "deny"
  down_policy = "extend-cache"
}
tls {
  defaults {
    ca_file = "$TOPO_CA"
    verify_outgoing = true
  }
  internal_rpc {
    verify_incoming = true
    verify_server_hostname = true
  }
  https { verify_incoming = false }
}
EOF
}

# topo_agent_start NAME: starts (or starts again, same data and ports) agent NAME of the
# topology; waits until it answers the roots (so, for a client, until it has joined). While
# an agent was down, another process may have taken one of its ports for a moment (they come
# from the ephemeral range outgoing connections use): a start that fails to bind is tried
# again for up to 30 s.
topo_agent_start() {
  local name="$1" attempt
  mkdir -p "$TOPO/$name/data"
  topo_common_hcl "$name" >"$TOPO/$name/common.hcl"
  for attempt in $(seq 1 30); do
    topo_agent_spawn "$name" && return 0
    [ $? -eq 2 ] || return 1
    log "agent $name: a port is taken, trying again ($attempt)"; sleep 1
  done
  log "agent $name: its ports stayed taken"; return 1
}

# topo_agent_spawn NAME: one start of agent NAME; 2 when it exited because a port was taken.
topo_agent_spawn() {
  local name="$1" i from
  from="$(stat -c %s "$TOPO/$name/consul.log" 2>/dev/null || echo 0)"
  "$CONSUL_BIN" agent -config-file="$TOPO/$name/common.hcl" -config-file="$TOPO/$name/agent.hcl" \
    </dev/null >>"$TOPO/$name/consul.log" 2>&1 &
  echo $! >"$TOPO/$name/pid"
  PCC_PIDS+=("$!")
  # Servers answer only once a leader is elected: only check that they bound their ports.
  local tries=600; [[ "$name" == server-* ]] && tries=10
  for i in $(seq 1 "$tries"); do
    [[ "$name" != server-* ]] && topo_agent_curl "$name" /v1/agent/connect/ca/roots 2>/dev/null \
      | grep -q '"RootCert"' && return 0
    if ! kill -0 "$(cat "$TOPO/$name/pid")" 2>/dev/null; then
      tail -c +"$((from + 1))" "$TOPO/$name/consul.log" | grep -q "address already in use" && return 2
      log "agent $name exited:"; tail -20 "$TOPO/$name/consul.log" >&2; return 1
    fi
    sleep 0.1
  done
  [[ "$name" == server-* ]] && return 0
  log "agent $name did not answer"; return 1
}

# topo_agent_stop NAME: TERM (the agent leaves gracefully), KILL after 20 s.
topo_agent_stop() {
  local pid i
  pid="$(cat "$TOPO/$1/pid")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# topo_alive NAME: whether agent NAME runs.
topo_alive() { kill -0 "$(cat "$TOPO/$1/pid")" 2>/dev/null; }

# topo_use_server: CONSUL_HTTP = the HTTPS API of the first server that runs.
topo_use_server() {
  local s
  for s in "${TOPO_SERVERS[@]}"; do
    if topo_alive "$s"; then CONSUL_HTTP="https://127.0.0.1:$(cat "$TOPO/$s/https")"; return 0; fi
  done
  log "no Consul server runs"; return 1
}

# topo_leader: the name of the server that leads (empty while there is none).
topo_leader() {
  local addr s
  addr="$(consul_curl /v1/status/leader 2>/dev/null | tr -d '"')"
  [ -n "$addr" ] || return 0
  for s in "${TOPO_SERVERS[@]}"; do
    grep -q "server = ${addr##*:}\$" "$TOPO/$s/agent.hcl" && echo "$s"
  done
  return 0
}

# topo_token NAME RULES: a new ACL token with the policy NAME (created with RULES the first
# time); prints the token's secret.
topo_token() {
  local body
  if ! consul_curl "/v1/acl/policy/name/$1" >/dev/null 2>&1; then
    body="$(jq -n --arg n "$1" --arg r "$2" '{Name: $n, Rules: $r}')"
    consul_curl /v1/acl/policy -X PUT -d "$body" >/dev/null
  fi
  body="$(jq -n --arg n "$1" '{Description: ("test token with policy " + $n), Policies: [{Name: $n}]}')"
  consul_curl /v1/acl/token -X PUT -d "$body" | jq -er .SecretID
}

# topo_revoke SECRET: deletes the token whose secret is SECRET, as an operator does.
topo_revoke() {
  local accessor
  accessor="$(curl -fsS --cacert "$TOPO_CA" -H @- "$CONSUL_HTTP/v1/acl/token/self" <<<"X-Consul-Token: $1" | jq -er .AccessorID)"
  consul_curl "/v1/acl/token/$accessor" -X DELETE >/dev/null
}

# topo_client NAME https|unix: a client agent NAME (its token: a node identity) serving its
# HTTP API over HTTPS on a free port, or as plain HTTP on a unix socket (and no TCP port).
topo_client() {
  local name="$1" kind="$2" token api
  mkdir -p "$TOPO/$name"
  (cd "$TOPO/tls" && umask 077 && "$CONSUL_BIN" tls cert create -client -dc dc1 -days 2 2>/dev/null \
    | sed -n 's/^==> Saved \(dc1-client-consul-[0-9]*\.pem\)$/\1/p' >"$TOPO/$name/cert")
  token="$(consul_curl /v1/acl/token -X PUT \
    -d "{\"Description\":\"agent $name\",\"NodeIdentities\":[{\"NodeName\":\"$name\",\"Datacenter\":\"dc1\"}]}" | jq -er .SecretID)"
  case "$kind" in
    https) api="https = $(free_port)
  http = -1" ;;
    unix) api="https = -1
  http = $(free_port)"
      echo "addresses { http = \"unix://$TOPO/$name/consul.sock\" }" >"$TOPO/$name/api.hcl" ;;
    *) log "topo_client: https or unix"; return 1 ;;
  esac
  cat >"$TOPO/$name/agent.hcl" <<EOF
ports {
  $api
  serf_lan = $(free_port)
  serf_wan = -1
  server = $(free_port)
}
$(cat "$TOPO/$name/api.hcl" 2>/dev/null)
acl { tokens { agent = "$token" } }
tls {
  defaults {
    cert_file = "$TOPO/tls/$(cat "$TOPO/$name/cert")"
    key_file = "$TOPO/tls/$(basename "$(cat "$TOPO/$name/cert")" .pem)-key.pem"
  }
}
EOF
  topo_agent_start "$name"
}

# topo_agent_address NAME: agent NAME's API as consul.address / CONSUL_HTTP_ADDR takes it.
topo_agent_address() {
  if [ -S "$TOPO/$1/consul.sock" ] || [ -f "$TOPO/$1/api.hcl" ]; then
    echo "unix://$TOPO/$1/consul.sock"
  else
    echo "https://127.0.0.1:$(sed -n 's/^ *https = \([0-9]*\)$/\1/p' "$TOPO/$1/agent.hcl")"
  fi
}

# topo_agent_curl NAME PATH [CURL_ARGS...]: a request to agent NAME's own API (no token).
topo_agent_curl() {
  local address path="$2"
  address="$(topo_agent_address "$1")"
  shift 2
  case "$address" in
    unix://*) curl -fsS --unix-socket "${address#unix://}" "$@" "http://consul$path" ;;
    *) curl -fsS --cacert "$TOPO_CA" "$@" "$address$path" ;;
  esac
}

# ---------------------------------------------------------------- Trino

# trino_jvm_config FILE ROLE [AGENT_LINES]: jvm.config for a small, fast-starting test node:
# 1 GiB heap, the serial collector (two cores; no concurrent GC threads to feed), C1 only
# (short runs never profit from C2, and it competes for the two cores while Trino starts),
# and a class-data-sharing archive (see trino_cds_flags); then AGENT_LINES, our JVM-level
# part as the README tells operators to add it.
trino_jvm_config() {
  cat >"$1" <<EOF
-server
-Xmx$TRINO_HEAP
-XX:+UseSerialGC
-XX:TieredStopAtLevel=1
-XX:+ExitOnOutOfMemoryError
-XX:-OmitStackTraceInFastThrow
-XX:ReservedCodeCacheSize=256M
-Djdk.attach.allowAttachSelf=true
-Djdk.nio.maxCachedBufferSize=2000000
-Dfile.encoding=UTF-8
-XX:+EnableDynamicAgentLoading
$(trino_cds_flags "trino-$2-agent")
${3:-}
EOF
}

# trino_cds_flags NAME: JVM flags for a class-data-sharing archive NAME in the cache: the
# classes a JVM loaded, already parsed and verified, mapped by the next JVM instead of
# loaded again from the jars (saves about a third of Trino's start, see NOTES.md).
# When the archive is missing, this JVM writes it at exit (-XX:ArchiveClassesAtExit; a
# few seconds at shutdown); when present, it is used (-XX:SharedArchiveFile). Keyed by
# Trino version and JDK build; a stale or damaged archive is simply not used by the JVM
# (delete the cds/ directory to rebuild). One archive per role (coordinator, worker,
# cli): each loads different classes, and two JVMs never write the same file.
# Not -XX:+AutoCreateSharedArchive: Trino's launcher first runs a short JVM with the same
# flags, whose tiny archive the real JVM would then accept and never replace.
# The JVM's CDS messages are turned off (they go to stdout). PCC_TRINO_CDS=0: no archive.
trino_cds_flags() {
  [ "${PCC_TRINO_CDS:-1}" = 1 ] || return 0
  local jdk dir="$PCC_CACHE_ROOT/trino-$TRINO_VERSION/cds" jsa
  jdk="$("$TRINO_JAVA_HOME/bin/java" -version 2>&1 | awk -F'"' 'NR==1 {print $2}')"
  jsa="$dir/$1-jdk$jdk.jsa"
  mkdir -p "$dir"
  echo "-Xlog:cds*=off"
  # The "aot" log tag exists from JDK 24 on; older JVMs refuse to start on an unknown tag.
  [ "${jdk%%[!0-9]*}" -lt 24 ] 2>/dev/null || echo "-Xlog:aot*=off"
  case "$1" in
    *-agent)
      # Our -javaagent runs in every node's JVM: an archive dumped with an agent needs this
      # (diagnostic) permission, and the JVM uses such an archive only with the same setting.
      echo "-XX:+UnlockDiagnosticVMOptions"
      echo "-XX:+AllowArchivingWithJavaAgent" ;;
  esac
  if [ -n "$(find "$jsa" -size +1M 2>/dev/null)" ]; then
    echo "-XX:SharedArchiveFile=$jsa"
  else
    echo "-XX:ArchiveClassesAtExit=$jsa"
  fi
}

# The node's TLS files, written by our JVM-level part (consul.pem.directory) before Trino
# reads its configuration: key + chain, and the Consul roots.
trino_keystore() { echo "$1/tls/consul-connect.pem"; }
trino_truststore() { echo "$1/tls/consul-connect-roots.pem"; }

# trino_consul_props DIR: the node's Consul Connect settings (DIR/etc/consul-connect.properties,
# read by the -javaagent and shared by the plugin), from standard input. trino_node_init
# writes the default: the local agent, service PCC_TRINO_SERVICE (default trino), the PEM
# files in DIR/tls.
trino_consul_props() {
  cat >"$1/etc/consul-connect.properties"
}

# trino_node_init DIR coordinator|worker [COORDINATOR_DIR]
# Sets a node up as the README tells operators: our plugin zip (PCC_PLUGIN_ZIP) unzipped
# into DIR/plugin, etc/consul-connect.properties, jvm.config with the -javaagent line,
# config.properties with HTTPS only and the TLS files the agent writes, and no
# host-name-verification switch (the agent's trust manager checks SPIFFE identities).
# No bundled Trino plugin is loaded: that keeps startup short. The node's HTTPS port is
# in DIR/port. A worker needs its coordinator's dir (for discovery.uri).
# Call trino_auth_certificate / trino_prop / trino_consul_props after this to change settings.
trino_node_init() {
  local dir="$1" role="$2" coord="${3:-}" port disc jar
  [ -f "${PCC_PLUGIN_ZIP:-}" ] || { log "trino_node_init: PCC_PLUGIN_ZIP must name our plugin zip"; return 1; }
  mkdir -p "$dir/etc" "$dir/data" "$dir/plugin" "$dir/tls"
  port="$(free_port)"
  echo "$port" >"$dir/port"
  echo "$role" >"$dir/role"
  case "$role" in
    coordinator) disc="https://127.0.0.1:$port" ;;
    worker)
      [ -f "$coord/port" ] || { log "trino_node_init: worker needs the coordinator's dir"; return 1; }
      disc="https://127.0.0.1:$(cat "$coord/port")" ;;
    *) log "trino_node_init: role must be coordinator or worker"; return 1 ;;
  esac
  # One shared secret per cluster: the coordinator's, made once.
  local secret_file="${coord:-$dir}/shared-secret"
  [ -f "$secret_file" ] || (umask 077; openssl rand -base64 32 >"$secret_file")
  trino_install_plugin "$dir" "$PCC_PLUGIN_ZIP"
  jar="$(ls "$dir"/plugin/consul-connect/presto-consul-connect-*.jar)"
  trino_consul_props "$dir" <<EOF
consul.address=$CONSUL_HTTP
consul.service=${PCC_TRINO_SERVICE:-trino}
consul.pem.directory=$dir/tls
${PCC_DECISIONS:+consul.authz.decisions=$PCC_DECISIONS}
EOF

  cat >"$dir/etc/node.properties" <<EOF
node.environment=pcc
node.id=$role-$port
node.data-dir=$dir/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
  trino_jvm_config "$dir/etc/jvm.config" "$role" "-javaagent:$jar=$dir/etc/consul-connect.properties
--enable-native-access=ALL-UNNAMED"
  {
    if [ "$role" = coordinator ]; then
      echo "coordinator=true"
      echo "node-scheduler.include-coordinator=false"
    else
      echo "coordinator=false"
    fi
    echo "discovery.uri=$disc"
    echo "plugin.dir=$dir/plugin"
    echo "http-server.http.enabled=false"
    echo "http-server.https.enabled=true"
    echo "http-server.https.port=$port"
    echo "http-server.https.keystore.path=$(trino_keystore "$dir")"
    echo "http-server.https.truststore.path=$(trino_truststore "$dir")"
    echo "internal-communication.https.required=true"
    echo "internal-communication.shared-secret=$(cat "$secret_file")"
    echo "internal-communication.https.keystore.path=$(trino_keystore "$dir")"
    echo "internal-communication.https.truststore.path=$(trino_truststore "$dir")"
    echo "query.max-memory=256MB"
    echo "query.max-memory-per-node=256MB"
  } >"$dir/etc/config.properties"
  echo "io.trino=INFO" >"$dir/etc/log.properties"
}

# trino_prop DIR KEY VALUE: set KEY in DIR/etc/config.properties (replacing it).
trino_prop() {
  local f="$1/etc/config.properties"
  grep -v "^$2=" "$f" >"$f.tmp" || true
  echo "$2=$3" >>"$f.tmp"
  mv "$f.tmp" "$f"
}

# trino_install_plugin DIR ZIP: unzip a plugin zip into the node's plugin dir, as the
# README tells operators to (the zip holds one top-level folder).
trino_install_plugin() {
  [ -f "$2" ] || { log "no plugin zip at $2"; return 1; }
  unzip -q -o "$2" -d "$1/plugin"
}

# trino_jmx DIR: Trino's JMX connector on this node, as an operator adds it: the plugin
# folder copied into the node's plugin dir and a catalog etc/catalog/jmx.properties. Its
# tables jmx.current."<object name>" have one row per node (column "node", the node id)
# and one column per MBean attribute, lowercased. Needs PCC_TRINO_JMX=1 before pcc_init.
trino_jmx() {
  [ -d "${TRINO_JMX_PLUGIN:-}" ] || { log "trino_jmx: no JMX connector (set PCC_TRINO_JMX=1 before pcc_init)"; return 1; }
  cp -R "$TRINO_JMX_PLUGIN" "$1/plugin/jmx"
  mkdir -p "$1/etc/catalog"
  echo "connector.name=jmx" >"$1/etc/catalog/jmx.properties"
}

# trino_catalog DIR NAME: Trino's connector plugin NAME (e.g. tpch) on this node, as an
# operator adds it: the plugin folder copied into the node's plugin dir and a catalog
# etc/catalog/NAME.properties (connector.name=NAME). Needs NAME in PCC_TRINO_PLUGINS before
# pcc_init.
trino_catalog() {
  local var
  var="TRINO_PLUGIN_$(echo "$2" | tr 'a-z-' 'A-Z_')"
  [ -d "${!var:-}" ] || { log "trino_catalog: no plugin $2 (add it to PCC_TRINO_PLUGINS before pcc_init)"; return 1; }
  cp -R "${!var}" "$1/plugin/$2"
  mkdir -p "$1/etc/catalog"
  echo "connector.name=$2" >"$1/etc/catalog/$2.properties"
}

# trino_auth_certificate DIR: client-certificate authentication by our plugin on this node.
# Only with it does Trino's HTTPS server ask clients for a certificate at all; on a worker
# it is what makes the coordinator's internal calls present the coordinator's Consul leaf
# (internal calls are still authenticated by the shared secret, not by the certificate).
# The plugin's properties name it and nothing else: it then shares the JVM-level part's
# settings and identity.
trino_auth_certificate() {
  local dir="$1"
  trino_prop "$dir" http-server.authentication.type CERTIFICATE
  echo "certificate-authenticator.name=consul-connect" >"$dir/etc/certificate-authenticator.properties"
}

# trino_cluster_init DIR: a coordinator (DIR/coord) and a worker (DIR/worker) set up by
# trino_node_init, both with client-certificate authentication, and with Trino's JMX
# connector when PCC_TRINO_JMX=1.
trino_cluster_init() {
  trino_node_init "$1/coord" coordinator
  trino_auth_certificate "$1/coord"
  trino_node_init "$1/worker" worker "$1/coord"
  trino_auth_certificate "$1/worker"
  if [ "${PCC_TRINO_JMX:-0}" = 1 ]; then
    trino_jmx "$1/coord"
    trino_jmx "$1/worker"
  fi
}

# trino_node_start DIR: `launcher run` in the background, with the KEY=VALUE lines of DIR/env
# (if any) in its environment, as a service manager's Environment= would set them. The launcher execs the JVM, so
# the recorded pid is the JVM's. Output goes to DIR/server.log. The launcher links etc/
# (and the install's plugin/) into the data dir and runs Trino from there, which is how
# Trino's relative "etc/certificate-authenticator.properties" is found.
trino_node_start() {
  local dir="$1"
  local envs=()
  [ ! -f "$dir/env" ] || mapfile -t envs <"$dir/env"
  date +%s.%N >"$dir/started"
  env "${envs[@]}" JAVA_HOME="$TRINO_JAVA_HOME" PATH="$TRINO_JAVA_HOME/bin:$PATH" \
    "$TRINO_HOME/bin/launcher" run --etc-dir="$dir/etc" --data-dir="$dir/data" \
    </dev/null >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  PCC_PIDS+=("$!")
}

# trino_url DIR: the node's base URL.
trino_url() { echo "https://127.0.0.1:$(cat "$1/port")"; }

# trino_wait_ready DIR [TIMEOUT_S]: until GET /v1/info says "starting":false.
# /v1/info needs no authentication. The probe uses -k: it only asks "is it up"; curl has
# no way to check a chain without also checking the host name, and a Consul leaf has no
# IP SAN. The real checks (trino_query) verify the chain against the Consul roots.
trino_wait_ready() {
  local dir="$1" timeout="${2:-180}" url i
  url="$(trino_url "$dir")"
  for i in $(seq 1 $((timeout * 5))); do
    if curl -ksS --max-time 2 "$url/v1/info" 2>/dev/null | grep -q '"starting":false'; then
      echo "$(elapsed "$dir/started")" >"$dir/ready-after"
      log "$(cat "$dir/role") ready at $url after $(cat "$dir/ready-after")s"
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || {
      log "$(cat "$dir/role") exited; last lines of $dir/server.log:"
      tail -40 "$dir/server.log" >&2
      return 1
    }
    sleep 0.2
  done
  log "$(cat "$dir/role") not ready after ${timeout}s; last lines of $dir/server.log:"
  tail -40 "$dir/server.log" >&2
  return 1
}

# trino_node_stop DIR: TERM (Trino shuts down), KILL after 20 s.
trino_node_stop() {
  local pid i
  pid="$(cat "$1/pid")"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# trino_cli ARGS...: the Trino CLI jar (Java 11+ bytecode; run on the Trino JDK, C1 only
# and with its own class-data-sharing archive: about 0.8 s a call instead of 1.9 s). JVM
# messages go to stderr (only errors), so stdout holds nothing but the CLI's output.
# The dumb terminal provider keeps its terminal library from loading native code (which
# JDK 24+ warns about) and from complaining that there is no terminal.
trino_cli() {
  # A query that cannot finish (say, a worker the coordinator cannot reach) would hang the
  # CLI for many minutes: stop it after PCC_QUERY_TIMEOUT seconds (default 60).
  # shellcheck disable=SC2046
  timeout "${PCC_QUERY_TIMEOUT:-60}" "$TRINO_JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC $(trino_cds_flags cli) \
    -Xlog:disable -Xlog:all=error:stderr -Dorg.jline.terminal.provider=dumb \
    -jar "$TRINO_CLI_JAR" "$@"
}

# trino_query COORD_DIR CLIENT_PEM|- USER SQL [TRUST_PEM]: run SQL through the CLI over
# HTTPS as USER, presenting CLIENT_PEM (key + chain; "-" for no client certificate) and
# checking the server's chain against TRUST_PEM (default: the node's Consul roots) but not
# its host name (SSLVerification=CA; see NOTES.md). USER must be the user the certificate
# authenticates as: the CLI always sends one, and any other would be impersonation, which
# Trino's default access control denies. Prints rows as unquoted CSV (or PCC_QUERY_FORMAT,
# e.g. JSON: one object per row) on stdout, the CLI's errors on stderr; returns the CLI's
# exit status.
trino_query() {
  local dir="$1" client="$2" user="$3" sql="$4" trust="${5:-$(trino_truststore "$1")}"
  local args=(--user="$user" --truststore-path="$trust" --output-format="${PCC_QUERY_FORMAT:-CSV_UNQUOTED}" --execute="$sql")
  [ "$client" = - ] || args+=(--keystore-path="$client")
  trino_cli "$(trino_url "$dir")?SSLVerification=CA" "${args[@]}"
}

# trino_presented DIR: the certificate (PEM) node DIR presents in a TLS handshake.
trino_presented() {
  openssl s_client -connect "127.0.0.1:$(cat "$1/port")" </dev/null 2>/dev/null | openssl x509 2>/dev/null
}

# trino_serial DIR: the serial of the certificate node DIR presents (hex, as openssl shows it).
trino_serial() { trino_presented "$1" | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'; }

# hexnorm HEX: a serial as lowercase hex digits without colons or leading zeros (to
# compare openssl's form with Consul's colon-hex).
hexnorm() { local h="${1//:/}"; h="${h,,}"; echo "${h#"${h%%[!0]*}"}"; }

# trino_refused COORD_DIR CLIENT_PEM USER: a query as USER presenting CLIENT_PEM must fail
# with a 401; prints the refusal ("Consul Connect refused the client certificate (<code>)"
# for a refusal by our plugin, a plain 401 for one in TLS). Fails when the query runs or
# fails otherwise (a 500 is a failure).
trino_refused() {
  local out
  if out="$(trino_query "$1" "$2" "$3" "SELECT 1" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; exit "${PIPESTATUS[0]}")"; then
    return 1
  fi
  echo "$out" | grep -oiE 'Consul Connect refused the client certificate \([a-z-]+\)|unauthorized|statusCode=401' | head -1
}
