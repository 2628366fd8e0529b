#!/usr/bin/env bash
# Provides a pinned Trino server (the trino-server-core tarball, unpacked) and the Trino
# CLI jar, both from Maven Central, cached outside the repository; with the argument
# `jmx`, also Trino's JMX connector plugin (plugin/jmx) of the same version.
#
# The JMX connector is not in trino-server-core, and Maven Central has no trino-jmx
# artifact for 476 (io/trino/trino-jmx/maven-metadata.xml lists versions up to 449 only),
# so it is taken from the full trino-server tarball of the same version (821 MB for 476):
# downloaded once, checked, only lib/ and plugin/jmx/ unpacked (the plugin's jars are hard
# links to lib/ in that tarball), plugin/jmx kept, the rest deleted.
#
# Integrity: for the pinned version (476) each file must match the SHA-256 recorded below
# (computed once from files that matched Maven Central's published .sha1). For any other
# TRINO_VERSION only the .sha1 published next to the artifact is checked, which guards
# against a damaged download, not against a compromised mirror.
#
# Downloads and unpacks only what is missing. Progress goes to stderr; stdout gets
#   TRINO_VERSION=476
#   TRINO_HOME=/…/trino-server-476        (unpacked server: bin/launcher, lib/, plugin/)
#   TRINO_CLI_JAR=/…/trino-cli-476-executable.jar
#   TRINO_JMX_PLUGIN=/…/trino-476/plugin-jmx/jmx   (only with `jmx`: the plugin folder,
#                                                   to be copied into a node's plugin dir)
# which tests/trino/lib.sh reads by name.
# Trino 476 needs Java 24+; see tests/trino/lib.sh for the JDK it is started with.
set -euo pipefail

TRINO_VERSION="${TRINO_VERSION:-476}"
CACHE_ROOT="${PCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presto-consul-connect}"
MAVEN="${PCC_MAVEN_URL:-https://repo1.maven.org/maven2}"
cache="$CACHE_ROOT/trino-$TRINO_VERSION"
mkdir -p "$cache"

# SHA-256 of the pinned version's files (Maven Central publishes no SHA-256 for them).
declare -A PINNED_SHA256=(
  [trino-server-core-476.tar.gz]=0f388f9967c177ae70a47c099082fc95387f0c3cb96d8000d1d41fc3a5223158
  [trino-cli-476-executable.jar]=fe4e9c7fb569cd67673afa1622945f6308e1e59bdb825419352b80887661757b
  [trino-server-476.tar.gz]=cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f
)
want_jmx=0
for arg in "$@"; do
  case "$arg" in
    jmx) want_jmx=1 ;;
    *) echo "ensure-trino: unknown argument '$arg' (usage: ensure-trino.sh [jmx])" >&2; exit 2 ;;
  esac
done

# fetch <maven path> <dest>: download to a temporary file, check it, then move it into
# place (so a cut or concurrent download is never taken as good).
fetch() {
  local path="$1" dest="$2" name want got part
  name="$(basename "$dest")"
  [ -f "$dest" ] && return 0
  echo "ensure-trino: downloading $MAVEN/$path" >&2
  part="$(mktemp "$dest.part.XXXXXX")"
  if ! curl -fL --retry 3 --progress-bar -o "$part" "$MAVEN/$path" >&2; then
    rm -f "$part"; echo "ensure-trino: download of $path failed" >&2; return 1
  fi
  if [ -n "${PINNED_SHA256[$name]:-}" ]; then
    want="${PINNED_SHA256[$name]}"
    got="$(sha256sum "$part" | awk '{print $1}')"
  else
    want="$(curl -fsS --retry 3 "$MAVEN/$path.sha1" | awk '{print $1}')"
    [[ "$want" =~ ^[0-9a-f]{40}$ ]] || { rm -f "$part"; echo "ensure-trino: no usable .sha1 for $path" >&2; return 1; }
    got="$(sha1sum "$part" | awk '{print $1}')"
  fi
  if [ "$got" != "$want" ]; then
    rm -f "$part"
    echo "ensure-trino: checksum mismatch for $path: got $got, want $want" >&2
    return 1
  fi
  mv "$part" "$dest"
}

tarball="$cache/trino-server-core-$TRINO_VERSION.tar.gz"
cli="$cache/trino-cli-$TRINO_VERSION-executable.jar"
home="$cache/trino-server-$TRINO_VERSION"

fetch "io/trino/trino-server-core/$TRINO_VERSION/trino-server-core-$TRINO_VERSION.tar.gz" "$tarball"
fetch "io/trino/trino-cli/$TRINO_VERSION/trino-cli-$TRINO_VERSION-executable.jar" "$cli"

# Unpack once. The tarball holds one top-level directory, trino-server-core-<v>; it is
# unpacked beside the final place and renamed, so a half-unpacked tree is never used.
# The unpacked tree is read-only for the tests: each node gets its own --etc-dir and
# --data-dir and its own plugin directory (see lib.sh).
if [ ! -x "$home/bin/launcher" ]; then
  echo "ensure-trino: unpacking $(basename "$tarball")" >&2
  tmp="$(mktemp -d "$cache/unpack.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$tarball" -C "$tmp"
  top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -x "$top/bin/launcher" ] || { echo "ensure-trino: no bin/launcher in the tarball" >&2; exit 1; }
  rm -rf "$home"
  mv "$top" "$home"
  rm -rf "$tmp"
  trap - EXIT
fi

# The JMX connector (see the top): kept as plugin-jmx/jmx, complete once plugin-jmx/jmx
# exists (it is renamed into place last). The 821 MB tarball is removed after unpacking.
jmx="$cache/plugin-jmx/jmx"
if [ "$want_jmx" = 1 ] && [ ! -d "$jmx" ]; then
  full="$cache/trino-server-$TRINO_VERSION.tar.gz"
  fetch "io/trino/trino-server/$TRINO_VERSION/trino-server-$TRINO_VERSION.tar.gz" "$full"
  echo "ensure-trino: unpacking plugin/jmx from $(basename "$full")" >&2
  mkdir -p "$cache/plugin-jmx"
  tmp="$(mktemp -d "$cache/plugin-jmx/unpack.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$full" -C "$tmp" --wildcards '*/lib/*' '*/plugin/jmx/*'
  src="$(find "$tmp" -mindepth 3 -maxdepth 3 -type d -path '*/plugin/jmx' | head -1)"
  [ -n "$src" ] && ls "$src"/io.trino_trino-jmx-*.jar >/dev/null 2>&1 \
    || { echo "ensure-trino: no plugin/jmx with the trino-jmx jar in $(basename "$full")" >&2; exit 1; }
  # Another run may have finished first: then keep its copy.
  mv -T "$src" "$jmx" 2>/dev/null || [ -d "$jmx" ]
  rm -rf "$tmp" "$full"
  trap - EXIT
fi

echo "TRINO_VERSION=$TRINO_VERSION"
echo "TRINO_HOME=$home"
echo "TRINO_CLI_JAR=$cli"
if [ "$want_jmx" = 1 ]; then echo "TRINO_JMX_PLUGIN=$jmx"; fi
