#!/usr/bin/env bash
# The main job, on a fresh machine: build the plugin and the command-line tool, start a
# local Consul dev agent and a single Trino (coordinator that also runs tasks) that speaks
# only Connect mTLS with our plugin as its certificate authenticator, then show an allowed
# client (web) and a denied one (evil) with their reasons. Leaves everything running and
# prints how to use and stop it.
#
#   bash tests/scripts/demo.sh          start (the first run downloads Trino, ~200 MB,
#                                       and builds Consul with Go, ~10 min)
#   bash tests/scripts/demo.sh stop     stop what the demo started
#
# Everything listens on 127.0.0.1 only. State lives in $PCC_DEMO_DIR
# (default /tmp/presto-consul-connect-demo).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
demo="${PCC_DEMO_DIR:-/tmp/presto-consul-connect-demo}"

stop() {
  local pid
  [ -f "$demo/pids" ] || { echo "demo: nothing to stop ($demo/pids missing)"; return 0; }
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$demo/pids"
  for _ in $(seq 1 200); do
    alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$demo/pids"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$demo/pids"
  rm -f "$demo/pids"
  echo "demo: stopped"
}

if [ "${1:-}" = stop ]; then
  stop
  exit 0
fi
[ ! -f "$demo/pids" ] || stop

progress() { echo "[$(date +%H:%M:%S)] demo: $*" >&2; }

progress "1/6 installing what is missing (Gradle, jq, ...) and building Consul if not cached"
cd "$root"
source tests/scripts/setup.sh
export CONSUL_BIN="${CONSUL_BIN:-$(bash tests/scripts/ensure-consul.sh)}"

progress "2/6 building the plugin zip (and the consul-connect tool beside it)"
gradle --no-daemon --console=plain -q assemble
zip="$(ls "$root"/build/distributions/presto-consul-connect-*.zip | head -1)"

progress "3/6 fetching Trino (cached after the first run)"
source tests/trino/lib.sh
pcc_init
# The demo keeps its processes: replace lib.sh's stop-everything trap by one that only
# fires on failure.
trap - EXIT INT TERM
rm -rf "$demo"
mkdir -p "$demo"
mv "$PCC_WORK"/* "$demo"/ 2>/dev/null || true
rmdir "$PCC_WORK"
PCC_WORK="$demo"
on_fail() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    progress "failed (exit $rc); logs are in $demo; stopping"
    printf '%s\n' "${PCC_PIDS[@]}" >"$demo/pids"
    stop
  fi
}
trap on_fail EXIT

progress "4/6 starting Consul (dev agent) with intentions web -> trino allow, evil -> trino deny"
consul_start
consul_intention web trino allow
consul_intention evil trino deny
consul_intention trino trino allow
consul_leaf_pem web "$demo/web.pem"
consul_leaf_pem evil "$demo/evil.pem"

progress "5/6 starting Trino with the plugin (its jar as -javaagent in jvm.config: live TLS identity)"
export PCC_PLUGIN_ZIP="$zip"
trino_node_init "$demo/trino" coordinator
trino_prop "$demo/trino" node-scheduler.include-coordinator true
trino_auth_certificate "$demo/trino"
trino_node_start "$demo/trino"
printf '%s\n' "${PCC_PIDS[@]}" >"$demo/pids"
trino_wait_ready "$demo/trino"
url="$(trino_url "$demo/trino")"

progress "6/6 two clients"
plain() { sed 's/\x1b\[[0-9;]*m//g'; }
echo
echo "---- web (intention: allow) runs SELECT current_user:"
trino_query "$demo/trino" "$demo/web.pem" web "SELECT current_user AS trino_user, now() AS at"
echo
echo "---- evil (intention: deny) runs the same query:"
if trino_query "$demo/trino" "$demo/evil.pem" evil "SELECT current_user" >"$demo/evil.out" 2>&1; then
  echo "UNEXPECTED: evil was allowed" >&2
  exit 1
fi
echo "refused: $(plain <"$demo/evil.out" | grep -oE 'Authentication failed: .*|statusCode=[0-9]+|Unauthorized' | head -1) (401: the client learns only the reason's code)"
sleep 1
echo "Trino's log says why:"
grep -m1 "consul-connect: denied" "$demo/trino/server.log" | sed 's/^/  /' || true
echo

cat <<EOF
Running (loopback only):
  Consul   $CONSUL_HTTP            (UI off; try: curl $CONSUL_HTTP/v1/connect/intentions)
  Trino    $url    (HTTPS only, client certificates checked by the consul-connect plugin)
  Files    $demo/trino/etc/consul-connect.properties   (the node's Consul settings)
           $demo/trino/etc/jvm.config                  (the -javaagent line)
           $demo/trino/etc/certificate-authenticator.properties
           $demo/trino/tls/consul-connect.pem          (kept current)

Query as web (the Trino CLI, checking Trino against the Consul roots, not host names):
  $TRINO_JAVA_HOME/bin/java -jar $TRINO_CLI_JAR '$url?SSLVerification=CA' \\
    --keystore-path=$demo/web.pem --truststore-path=$(trino_truststore "$demo/trino") \\
    --user=web --execute 'SELECT current_user' 
Deny web and watch its next query fail (no restart):
  curl -X PUT '$CONSUL_HTTP/v1/connect/intentions/exact?source=web&destination=trino' -d '{"Action":"deny"}'
Stop everything:
  bash $root/tests/scripts/demo.sh stop
EOF
trap - EXIT
