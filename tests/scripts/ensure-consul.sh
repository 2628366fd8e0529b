#!/usr/bin/env bash
# Provides a pinned Consul binary, built with the Go toolchain from the module proxy.
# Consul is not packaged for this machine, but it is a Go module: we build it as a
# dependency of a small throwaway module (tests/consul-build). Consul's own go.mod
# replace directives only point at its sub-modules, which the module proxy serves under
# their own versions, so the dependency build works.
# The binary is cached outside the repository and rebuilt only when missing.
# Prints the path of the binary on stdout; progress goes to stderr.
set -euo pipefail

CONSUL_VERSION="${CONSUL_VERSION:-v1.22.0}"
CACHE_ROOT="${PCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presto-consul-connect}"
dest="$CACHE_ROOT/consul-$CONSUL_VERSION/consul"

if [ -x "$dest" ] && "$dest" version >/dev/null 2>&1; then
  echo "$dest"
  exit 0
fi

command -v go >/dev/null || { echo "ensure-consul: the Go toolchain is required to build Consul" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "ensure-consul: building Consul $CONSUL_VERSION with Go (first run only, about 10 minutes)" >&2
# tests/consul-build holds the throwaway module: its go.mod pins Consul and the whole
# dependency graph, its go.sum pins every module's hash (including Consul's sub-modules
# envoyextensions and troubleshoot, which the public checksum database does not list).
grep -q "github.com/hashicorp/consul $CONSUL_VERSION" "$here/../consul-build/go.mod" || {
  echo "ensure-consul: tests/consul-build/go.mod does not pin Consul $CONSUL_VERSION" >&2; exit 1; }
cp "$here/../consul-build/go.mod" "$here/../consul-build/go.sum" "$work/"
(
  cd "$work"
  export GOFLAGS="-mod=readonly -buildvcs=false"
  mkdir -p "$(dirname "$dest")"
  CGO_ENABLED=0 go build -trimpath -o "$dest.tmp" \
    -ldflags "-s -w -X github.com/hashicorp/consul/version.GitVersion=${CONSUL_VERSION#v} -X github.com/hashicorp/consul/version.VersionPrerelease=" \
    github.com/hashicorp/consul >&2
  mv "$dest.tmp" "$dest"
)
"$dest" version >&2
echo "$dest"
