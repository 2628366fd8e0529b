#!/usr/bin/env bash
# Assembles a runnable Trino server directory from Maven Central, for releases that have no
# server tarball there: none for 477–483 (as served here, trino-server has tarballs for
# 352, 356, 368, 470 and 476 only, trino-server-core for 476 only; 435 has neither). Works
# for any release whose trino-main is published. Checked: 476 gives the same 173 lib/ jars
# as the trino-server-core tarball, byte for byte; 483 (Temurin 25) and 435 (JDK 17, the
# Python launcher) start, answer queries and report their version in system.runtime.nodes.
#
#   TRINO_VERSION=483 tests/trino/assemble-server.sh [PLUGIN...]
#   TRINO_VERSION=476 tests/trino/assemble-server.sh --plugins-only PLUGIN...
#
# --plugins-only: only the plugins, no server and no CLI, kept in
# ${PCC_CACHE:-…}/trino-plugins-<v>/plugin/<name>, for a release whose server comes from
# elsewhere (476: the trino-server-core tarball of ensure-trino.sh, which has no tpch).
#
# What the server tarball holds, and where each part comes from here:
#   lib/      io.trino:trino-main:<v> and its runtime dependencies, resolved by Maven with
#             trino-root:<v>'s dependency management imported (tests/trino/assemble/pom.xml),
#             so versions are those Trino's build pins. Checked against the 476 tarball:
#             the same 173 jars, byte for byte. Plus trino-server-main-<v>.jar: Trino does
#             not publish that module (it holds only io.trino.server.TrinoServer, the main
#             class); a stand-in class is compiled here (Java 17 bytecode) that calls
#             io.trino.server.Server.start("<v>"), which is what the real one does after its
#             Java version check (trino-main checks the Java version again at start).
#   bin/      airlift's launcher, io.airlift:launcher:<L>:tar.gz:bin and :properties, where
#             <L> is the version Trino's build used: airbase's dep.launcher.version (318 for
#             483, 304 for 476) or, for older releases, trino-root's dep.packaging.version
#             (239 for 435: the Python launcher). launcher.properties as Trino's provisio
#             filters it: main-class=io.trino.server.TrinoServer, process-name=trino-server.
#   secrets-plugin/keystore-secrets-plugin
#             io.airlift:secrets-keystore-plugin:<airlift>:zip where published (e.g. 483);
#             otherwise an empty secrets-plugin/ (the Go launcher links it into the data dir).
#   plugin/   only what is asked for (none by default; the tests give each node its own
#             plugin.dir). PLUGIN is a Trino plugin name without "trino-": tpch, memory,
#             blackhole, jmx, geospatial, ...; "core" = the set trino-server-core ships
#             (exchange-filesystem, functions-python, geospatial, password-authenticators,
#             resource-group-managers, session-property-managers, spooling-filesystem, and
#             blob-cache-memory where it exists). Each comes from the plugin zip
#             (io.trino:trino-<name>:<v>:zip) when published, else from the plugin jar and
#             its runtime dependencies minus trino-spi's own closure (what the engine
#             provides), with META-INF/services/io.trino.spi.Plugin written as Trino's build
#             does (tests/trino/assemble/find-plugin-classes.py). A plugin that Maven
#             Central does not have for <v> is an error naming it.
#
# Integrity: Maven runs with strict checksums (-C: every jar must match its published
# .sha1); the launcher and zip archives are checked against their .sha1 too. If
# tests/trino/assemble/trino-server-<v>.sha256 exists, every downloaded file of the tree
# (lib/, bin/, secrets-plugin/, plugin/) that it lists must match its SHA-256, and the
# lib/ and bin/ files must all be listed. `tests/trino/assemble-server.sh --pins` prints
# such a list for the assembled tree (generated files left out).
#
# Cached outside the repository:
#   ${PCC_CACHE:-~/.cache/presto-consul-connect}/trino-server-<v>/   the server (TRINO_HOME)
#   ${PCC_CACHE:-…}/assemble/                                       Maven's local repository,
#                                                                    downloads, work dirs
# Idempotent: an assembled server (marked by .assembled) is reused; asking for more plugins
# later adds them. Concurrent runs for one version wait on a lock.
#
# Progress goes to stderr; stdout gets
#   TRINO_VERSION=483
#   TRINO_HOME=/…/trino-server-483
#   TRINO_JAVA_MIN=25                 (the Java feature release this Trino needs: trino-root's
#                                      project.build.targetJdk)
#   TRINO_CLI_JAR=/…/trino-cli-476-executable.jar   (the newest CLI on Maven Central; it
#                                      talks to 483 fine)
#   TRINO_PLUGIN_<NAME>=/…/plugin/<name>  per requested plugin (NAME upper-cased, - → _)
#   TRINO_JMX_PLUGIN=/…/plugin/jmx    (with `jmx`, as ensure-trino.sh prints it)
# With --plugins-only: TRINO_VERSION and the TRINO_PLUGIN_* (and TRINO_JMX_PLUGIN) lines only.
# PCC_MAVEN_URL changes the base URL of the curl downloads only; Maven resolves through its
# own settings (~/.m2/settings.xml mirrors).
# Needs: curl, mvn (3.8+), javac (17+), python3, unzip, tar, flock, sha1sum/sha256sum.
set -euo pipefail

TRINO_VERSION="${TRINO_VERSION:-483}"
CACHE_ROOT="${PCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presto-consul-connect}"
MAVEN="${PCC_MAVEN_URL:-https://repo1.maven.org/maven2}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$HERE/assemble/pom.xml"
PINS="$HERE/assemble/trino-server-$TRINO_VERSION.sha256"
WORK="$CACHE_ROOT/assemble"
M2="$WORK/m2"
home="$CACHE_ROOT/trino-server-$TRINO_VERSION"
v="$TRINO_VERSION"

# The CLI: 476 is the newest trino-cli on Maven Central; pinned as in ensure-trino.sh.
CLI_VERSION=476
CLI_SHA256=fe4e9c7fb569cd67673afa1622945f6308e1e59bdb825419352b80887661757b

log() { echo "assemble-server: $*" >&2; }
die() { log "$*"; exit 1; }

[[ "$v" =~ ^[0-9]+$ ]] || die "TRINO_VERSION must be a release number, got '$v'"
for tool in curl mvn javac jar python3 unzip tar flock sha1sum sha256sum; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

CORE_PLUGINS=(exchange-filesystem blob-cache-memory functions-python geospatial password-authenticators
  resource-group-managers session-property-managers spooling-filesystem)

print_pins=0
plugins_only=0
core=0
plugins=()
for arg in "$@"; do
  case "$arg" in
    --pins) print_pins=1 ;;
    --plugins-only) plugins_only=1 ;;
    core) core=1; plugins+=("${CORE_PLUGINS[@]}") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    -*) die "unknown option '$arg'" ;;
    *)
      [[ "$arg" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "bad plugin name '$arg'"
      plugins+=("${arg#trino-}") ;;
  esac
done

mkdir -p "$WORK/downloads"

# curl_sha1 <maven path> <dest>: download once, checked against the published .sha1.
# Returns 2 (and writes nothing) if Maven Central has no such file.
curl_sha1() {
  local path="$1" dest="$2" part want got code
  [ -f "$dest" ] && return 0
  part="$(mktemp "$dest.part.XXXXXX")"
  code="$(curl -sS -L --retry 3 -o "$part" -w '%{http_code}' "$MAVEN/$path" || echo 000)"
  if [ "$code" = 404 ]; then rm -f "$part"; return 2; fi
  [ "$code" = 200 ] || { rm -f "$part"; die "download of $MAVEN/$path failed (HTTP $code)"; }
  want="$(curl -fsS --retry 3 "$MAVEN/$path.sha1" | awk '{print $1}')" || true
  [[ "$want" =~ ^[0-9a-f]{40}$ ]] || { rm -f "$part"; die "no usable .sha1 for $path"; }
  got="$(sha1sum "$part" | awk '{print $1}')"
  [ "$got" = "$want" ] || { rm -f "$part"; die "SHA-1 mismatch for $path: got $got, want $want"; }
  mv "$part" "$dest"
  log "downloaded $path ($(du -h "$dest" | cut -f1))"
}

# mvn_deps <artifact> <outdir>: io.trino:<artifact>:<v> and its runtime dependencies into
# <outdir>, as groupId.artifactId-version.jar. Returns 2 if the artifact is not published.
mvn_deps() {
  local artifact="$1" out="$2" logf
  logf="$WORK/mvn-$artifact-$v.log"
  if [ "$(curl -sS -o /dev/null -w '%{http_code}' -I "$MAVEN/io/trino/$artifact/$v/$artifact-$v.pom" || true)" = 404 ]; then
    return 2
  fi
  log "resolving io.trino:$artifact:$v and its runtime dependencies with Maven"
  if ! mvn -B -q -C -f "$POM" -Dmaven.repo.local="$M2" -Dtrino.version="$v" \
      -Dtrino.artifact="$artifact" -Dout="$out" dependency:copy-dependencies >"$logf" 2>&1; then
    tail -30 "$logf" >&2
    die "Maven could not resolve io.trino:$artifact:$v (log: $logf)"
  fi
}

# pom_prop <pom file> <property>: a <property> value from a POM, one level of ${…} resolved
# against the same POM.
pom_prop() {
  local val ref
  val="$(sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -1)"
  if [[ "$val" =~ ^\$\{(.+)\}$ ]]; then
    ref="${BASH_REMATCH[1]}"
    val="$(sed -n "s:.*<$ref>\(.*\)</$ref>.*:\1:p" "$1" | head -1)"
  fi
  echo "$val"
}

# generated files of the tree, never pinned
is_generated() {
  case "$1" in
    lib/io.trino.trino-server-main-*.jar | bin/launcher.properties | plugin/*/*-services.jar) return 0 ;;
  esac
  return 1
}

# tree_pins DIR: sha256sum lines for the downloaded files under DIR, relative paths, sorted.
tree_pins() {
  (cd "$1" && find lib bin secrets-plugin plugin -type f 2>/dev/null | LC_ALL=C sort | while read -r f; do
    is_generated "$f" || sha256sum "$f"
  done)
}

# check_pins DIR PREFIX...: compare the files under DIR (limited to the PREFIXes) against
# the pins file; lib/ and bin/ files must all be pinned.
check_pins() {
  local dir="$1" bad=0 f want got
  shift
  [ -f "$PINS" ] || { log "no pins file for $v: only the published .sha1 were checked"; return 0; }
  while read -r f; do
    is_generated "$f" && continue
    want="$(awk -v f="$f" '$2 == f {print $1}' "$PINS")"
    if [ -z "$want" ]; then
      case "$f" in lib/* | bin/*) log "not in $(basename "$PINS"): $f"; bad=1 ;; esac
      continue
    fi
    got="$(sha256sum "$dir/$f" | awk '{print $1}')"
    [ "$got" = "$want" ] || { log "SHA-256 mismatch: $f (got $got, pinned $want)"; bad=1; }
  done < <(cd "$dir" && find "$@" -type f 2>/dev/null | LC_ALL=C sort)
  [ "$bad" = 0 ] || die "the assembled files do not match $PINS"
}

assemble_server() {
  local tmp dest root_pom airbase ab_pom launcher airlift target_jdk
  tmp="$(mktemp -d "$WORK/server-$v.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  dest="$tmp/trino-server-$v"
  mkdir -p "$dest/lib" "$dest/bin" "$dest/plugin" "$dest/secrets-plugin" "$tmp/src/io/trino/server"

  mvn_deps trino-main "$dest/lib" || die "io.trino:trino-main:$v is not on Maven Central"

  # Launcher version, Java version, airlift version: from the POMs Maven just fetched.
  root_pom="$M2/io/trino/trino-root/$v/trino-root-$v.pom"
  [ -f "$root_pom" ] || die "no $root_pom after resolution"
  airbase="$(sed -n '/<parent>/,/<\/parent>/s:.*<version>\(.*\)</version>.*:\1:p' "$root_pom" | head -1)"
  ab_pom="$M2/io/airlift/airbase/$airbase/airbase-$airbase.pom"
  launcher="$( [ -f "$ab_pom" ] && pom_prop "$ab_pom" dep.launcher.version || true)"
  [ -n "$launcher" ] || launcher="$(pom_prop "$root_pom" dep.packaging.version)"
  [[ "$launcher" =~ ^[0-9.]+$ ]] || die "cannot tell the launcher version for $v (got '$launcher')"
  airlift="$(pom_prop "$root_pom" dep.airlift.version)"
  target_jdk="$(pom_prop "$root_pom" project.build.targetJdk)"
  log "trino-root $v: airbase $airbase, launcher $launcher, airlift $airlift, Java $target_jdk"

  # bin/: the launcher's bin then properties archives, as Trino's provisio unpacks them.
  local c
  for c in bin properties; do
    curl_sha1 "io/airlift/launcher/$launcher/launcher-$launcher-$c.tar.gz" \
      "$WORK/downloads/launcher-$launcher-$c.tar.gz" || die "no io.airlift:launcher:$launcher:$c on Maven Central"
    tar -xzf "$WORK/downloads/launcher-$launcher-$c.tar.gz" -C "$dest"
  done
  [ -x "$dest/bin/launcher" ] && [ -f "$dest/bin/launcher.properties" ] || die "launcher $launcher: no bin/launcher or bin/launcher.properties"
  sed -e 's/\${main-class}/io.trino.server.TrinoServer/' -e 's/\${process-name}/trino-server/' \
    "$dest/bin/launcher.properties" >"$dest/bin/launcher.properties.tmp"
  mv "$dest/bin/launcher.properties.tmp" "$dest/bin/launcher.properties"

  # secrets-plugin/: the keystore secrets plugin where airlift publishes it.
  if [ -n "$airlift" ] && curl_sha1 "io/airlift/secrets-keystore-plugin/$airlift/secrets-keystore-plugin-$airlift.zip" \
      "$WORK/downloads/secrets-keystore-plugin-$airlift.zip"; then
    unzip -q "$WORK/downloads/secrets-keystore-plugin-$airlift.zip" -d "$tmp/skp"
    mv "$tmp/skp/secrets-keystore-plugin-$airlift" "$dest/secrets-plugin/keystore-secrets-plugin"
  fi

  # lib/io.trino.trino-server-main-<v>.jar: the main class (see the top).
  cat >"$tmp/src/io/trino/server/TrinoServer.java" <<EOF
package io.trino.server;

// Stand-in for Trino's unpublished trino-server-main module, written by
// tests/trino/assemble-server.sh: starts the server as Trino $v.
public final class TrinoServer
{
    private static final String VERSION = "$v";

    private TrinoServer() {}

    public static void main(String[] args)
            throws Throwable
    {
        Class<?> server = Class.forName("io.trino.server.Server");
        try {
            server.getMethod("start", String.class).invoke(server.getConstructor().newInstance(), VERSION);
        }
        catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
EOF
  printf 'Implementation-Title: trino-server-main\nImplementation-Version: %s\n' "$v" >"$tmp/manifest"
  javac -nowarn --release 17 -d "$tmp/classes" "$tmp/src/io/trino/server/TrinoServer.java"
  jar --create --file "$dest/lib/io.trino.trino-server-main-$v.jar" --manifest "$tmp/manifest" -C "$tmp/classes" .

  echo "$target_jdk" >"$dest/.java-min"
  check_pins "$dest" lib bin secrets-plugin
  {
    echo "version=$v"
    echo "launcher=$launcher"
    echo "airlift=$airlift"
    echo "java=$target_jdk"
    echo "assembled=$(date -u +%FT%TZ) by tests/trino/assemble-server.sh"
  } >"$dest/.assembled"
  rm -rf "$home"
  mv "$dest" "$home"
  rm -rf "$tmp"
  trap - EXIT
}

# spi_closure: file names of trino-spi and its runtime dependencies for <v> (what the engine
# shares with plugins), cached.
spi_closure() {
  local list="$WORK/spi-closure-$v.txt" tmp
  if [ ! -f "$list" ]; then
    tmp="$(mktemp -d "$WORK/spi-$v.XXXXXX")"
    mvn_deps trino-spi "$tmp/jars" || die "io.trino:trino-spi:$v is not on Maven Central"
    ls "$tmp/jars" >"$list.tmp" && mv "$list.tmp" "$list"
    rm -rf "$tmp"
  fi
  cat "$list"
}

# assemble_plugin NAME: plugin/NAME from the zip, or from the jar and its dependencies.
assemble_plugin() {
  local name="$1" artifact tmp dir zip rc=0 jarfile classes
  artifact="trino-$name"
  tmp="$(mktemp -d "$WORK/plugin-$name-$v.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  dir="$tmp/check/plugin/$name"
  zip="$WORK/downloads/$artifact-$v.zip"
  curl_sha1 "io/trino/$artifact/$v/$artifact-$v.zip" "$zip" || rc=$?
  mkdir -p "$(dirname "$dir")"
  if [ "$rc" = 0 ]; then
    unzip -q "$zip" -d "$tmp/unzip"
    mv "$tmp/unzip/$artifact-$v" "$dir"
  else
    mkdir -p "$dir"
    mvn_deps "$artifact" "$dir" || die "plugin $name: neither io.trino:$artifact:$v:zip nor :jar is on Maven Central"
    while read -r f; do rm -f "$dir/$f"; done < <(spi_closure)
    jarfile="$dir/io.trino.$artifact-$v.jar"
    [ -f "$jarfile" ] || die "plugin $name: no $jarfile after resolution"
    classes="$(python3 "$HERE/assemble/find-plugin-classes.py" "$jarfile")" \
      || die "plugin $name: no io.trino.spi.Plugin implementation in $(basename "$jarfile")"
    mkdir -p "$tmp/services/META-INF/services"
    echo "$classes" >"$tmp/services/META-INF/services/io.trino.spi.Plugin"
    jar --create --file "$dir/$artifact-$v-services.jar" -C "$tmp/services" .
  fi
  check_pins "$tmp/check" "plugin/$name"
  mv -T "$dir" "$home/plugin/$name"
  rm -rf "$tmp"
  trap - EXIT
  log "plugin/$name: $(ls "$home/plugin/$name" | wc -l) jars"
}

if [ "$plugins_only" = 1 ]; then
  [ "$print_pins" = 0 ] || die "--pins and --plugins-only do not go together"
  [ "${#plugins[@]}" -gt 0 ] || die "--plugins-only needs at least one PLUGIN"
  home="$CACHE_ROOT/trino-plugins-$v"
  mkdir -p "$home/plugin"
fi

if [ "$print_pins" = 1 ]; then
  [ -f "$home/.assembled" ] || die "no assembled server at $home"
  tree_pins "$home"
  exit 0
fi

# One run per version at a time.
exec 9>"$WORK/lock-$v"
flock 9

if [ "$plugins_only" = 0 ]; then
  if [ ! -f "$home/.assembled" ]; then
    log "assembling Trino $v into $home"
    assemble_server
  fi

  # The Trino CLI (shared with ensure-trino.sh's cache when that has it).
  cli="$CACHE_ROOT/trino-$CLI_VERSION/trino-cli-$CLI_VERSION-executable.jar"
  if [ ! -f "$cli" ]; then
    mkdir -p "$(dirname "$cli")"
    curl_sha1 "io/trino/trino-cli/$CLI_VERSION/trino-cli-$CLI_VERSION-executable.jar" "$cli" || die "no trino-cli $CLI_VERSION"
  fi
  [ "$(sha256sum "$cli" | awk '{print $1}')" = "$CLI_SHA256" ] || die "$cli does not match its pinned SHA-256"
fi

seen=" "
for p in "${plugins[@]}"; do
  case "$seen" in *" $p "*) continue ;; esac
  seen+="$p "
  if [ ! -d "$home/plugin/$p" ]; then
    if [ "$core" = 1 ] && [ "$p" = blob-cache-memory ] && [ "$(curl -sS -o /dev/null -w '%{http_code}' -I "$MAVEN/io/trino/trino-blob-cache-memory/$v/trino-blob-cache-memory-$v.pom")" = 404 ]; then
      log "blob-cache-memory: not in Trino $v, skipped"
      continue   # part of "core" only in releases that have it
    fi
    assemble_plugin "$p"
  fi
done

echo "TRINO_VERSION=$v"
if [ "$plugins_only" = 0 ]; then
  echo "TRINO_HOME=$home"
  echo "TRINO_JAVA_MIN=$(cat "$home/.java-min")"
  echo "TRINO_CLI_JAR=$cli"
fi
for p in "${plugins[@]}"; do
  [ -d "$home/plugin/$p" ] || continue
  key="TRINO_PLUGIN_$(echo "$p" | tr 'a-z-' 'A-Z_')"
  case "$seen" in *" $key "*) continue ;; esac
  seen+="$key "
  echo "$key=$home/plugin/$p"
  [ "$p" = jmx ] && echo "TRINO_JMX_PLUGIN=$home/plugin/jmx"
done
exit 0
