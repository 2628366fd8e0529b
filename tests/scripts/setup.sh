#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine of this project's kind
# (Debian with Rust, Go and JDKs preinstalled). Idempotent; every download is cached
# outside the repository. Source it or run it; it prints what it does on stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "setup: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

need_apt=()
command -v gradle >/dev/null 2>&1 || need_apt+=(gradle)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# Maven resolves Trino releases that have no server tarball (tests/trino/assemble-server.sh).
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >&2
fi

export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"
command -v cargo >/dev/null || { say "Rust (cargo) is required: install it with rustup"; exit 1; }
command -v go >/dev/null || { say "Go is required to build the pinned Consul"; exit 1; }
if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || {
      say "adding rustup component $component"; rustup component add "$component" >&2; }
  done
fi

# Gradle and its test workers must run on JDK 17 (Gradle 4.4.1 cannot run on 24+).
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"17'; then
  for candidate in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/openjdk-17; do
    if [ -x "$candidate/bin/javac" ]; then export JAVA_HOME="$candidate"; break; fi
  done
fi

bash "$here/ensure-consul.sh" >/dev/null
