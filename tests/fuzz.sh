#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and fails on any crash.
#   bash tests/fuzz.sh [seconds-per-target] [target...]
# (default 20 s per target, every target). Prints per target libFuzzer's executions
# (stat::number_of_executed_units) and ends with "fuzz: N passed, N failed".
# Installs what it needs when missing: the nightly toolchain (rustup) and a pinned
# cargo-fuzz, cached outside the repository. Each target starts from its committed seeds
# (fuzz/corpus/<target>, read only) plus the corpus grown by earlier runs, kept in
# $PCC_CACHE/fuzz-corpus/<target>; crashing inputs go to fuzz/artifacts/<target>/
# (gitignored). PCC_FUZZ_SANITIZER=address builds with ASan (slower; default none: the
# code is safe Rust, panics and aborts are what the targets look for).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-20}"
shift || true

CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.1}"
CACHE_ROOT="${PCC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presto-consul-connect}"
sanitizer="${PCC_FUZZ_SANITIZER:-none}"
say() { echo "fuzz: $*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo +nightly --version >/dev/null 2>&1; then
  command -v rustup >/dev/null || { say "the nightly toolchain is required (rustup)"; exit 1; }
  say "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal >&2
fi
fuzz_root="$CACHE_ROOT/cargo-fuzz-$CARGO_FUZZ_VERSION"
if ! "$fuzz_root/bin/cargo-fuzz" --version >/dev/null 2>&1; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION into $fuzz_root (first run only)"
  CARGO_INSTALL_ROOT="$fuzz_root" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked >&2
fi
export PATH="$fuzz_root/bin:$PATH"

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)

say "building ${#targets[@]} targets (sanitizer $sanitizer)"
one=()
[ ${#targets[@]} -eq 1 ] && one=("${targets[0]}")
# The build lives in the cache, not in the clone: a fresh clone then rebuilds only this
# crate, not the instrumented dependencies.
target_dir="$CACHE_ROOT/fuzz-target"
cargo +nightly fuzz build --fuzz-dir fuzz --target-dir "$target_dir" -s "$sanitizer" "${one[@]}" >&2
bin_dir="$target_dir/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

passed=0 failed=0
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
for t in "${targets[@]}"; do
  corpus="$CACHE_ROOT/fuzz-corpus/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  set +e
  # The first corpus directory receives new inputs; the seeds are only read.
  "$bin_dir/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -max_len=16384 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$corpus" "fuzz/corpus/$t" >"$logs/$t.log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz target $t: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$corpus" | wc -l) inputs"
  else
    failed=$((failed + 1))
    echo "fuzz target $t: FAILED (exit $rc) after ${execs:-?} executions; input in $artifacts/"
    grep -v '^#[0-9]' "$logs/$t.log" | tail -40
  fi
done
echo "fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
