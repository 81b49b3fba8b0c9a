#!/usr/bin/env bash
# Flamegraphs of the server child during `read` (MariaDB, then SQLite), C = 32:
# a release build with frame pointers, `perf record -e cpu-clock -g` on the
# child for 8 s of load, folded and drawn by inferno
# (`cargo install inferno`). Writes bench/results/flamegraph-read-<store>.svg.
#
#   bench/profile.sh [parts] [BENCH ARGUMENTS]
#
# `parts` profiles instead the two halves of #14's bound, the same way: the
# echo child during `reject` (flamegraph-echo.svg) and the raw sqlx client
# (this bench's own process) during `read`'s MariaDB baseline
# (flamegraph-sqlx-client-mariadb.svg). Other arguments go to the bench:
# `bench/profile.sh --server-cores 1` profiles the server alone on one core
# (the load and MariaDB on the others) and writes
# flamegraph-read-<store>-server-cores-1.svg. Each profile's folded stacks
# are kept under target/fp/ and summed up by bench/profile_shares.py.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=false
[ "${1:-}" = parts ] && parts=true && shift
export CARGO_TARGET_DIR=target/fp RUSTFLAGS="-C force-frame-pointers=yes"
cargo build --release -p specserve-bench
bench="$CARGO_TARGET_DIR/release/specserve-bench"
out=bench/results
suffix=""
[ "$#" -gt 0 ] && suffix="-$(echo "$*" | tr -c 'a-z0-9' '-' | sed 's/^-*//; s/-*$//')"
args="$*"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The first process matching `pattern`, waited for.
process() {
  local pid=""
  for _ in $(seq 1 600); do
    pid=$(pgrep -f "$1" | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  echo "$pid"
}

# Waits until the bench's log says `line`, then 3 s more (into its steady state).
wait_for() {
  until grep -q "$1" "$work/bench.log"; do
    kill -0 "$runner" 2>/dev/null || { echo "the bench ended early:"; cat "$work/bench.log"; exit 1; }
    sleep 0.2
  done
  sleep 3
}

# record NAME PID TITLE: 8 s of PID, drawn as flamegraph-NAME$suffix.svg, with
# the heaviest frames by inclusive share (user-space frames of the process and
# its libraries, and the kernel's entry), then by self share, for bench/README.md.
record() {
  local name=$1$suffix pid=$2 title=$3
  perf record -q -e cpu-clock -g -p "$pid" -o "$work/$name.data" -- sleep 8
  perf script -i "$work/$name.data" 2>/dev/null | inferno-collapse-perf >"$work/$name.folded"
  inferno-flamegraph --title "$title${args:+, $args}" <"$work/$name.folded" >"$out/flamegraph-$name.svg"
  echo "== $name: inclusive"
  awk '{n=$NF; $NF=""; sub(/ $/, ""); split($0, f, ";"); delete seen; for (i in f) if (!(f[i] in seen)) { t[f[i]] += n; seen[f[i]] = 1 } total += n}
       END {for (k in t) printf "%5.1f%% %s\n", 100*t[k]/total, k}' "$work/$name.folded" \
    | sort -rn | grep -E 'specserve|sqlx|tungstenite|rustls|serde|jsonschema|argon|hub|do_syscall_64|__send|recv|epoll' | head -45 || true
  echo "== $name: self"
  awk '{n=$NF; $NF=""; sub(/ $/, ""); k=split($0, f, ";"); t[f[k]] += n; total += n}
       END {for (k in t) printf "%5.1f%% %s\n", 100*t[k]/total, k}' "$work/$name.folded" | sort -rn | head -30 || true
  cp "$work/$name.folded" "$CARGO_TARGET_DIR/$name.folded"
  python3 bench/profile_shares.py "$CARGO_TARGET_DIR/$name.folded"
}

if $parts; then
  # The echo runs first in `reject` (its baseline), then the server.
  "$bench" reject --warmup 2s --duration 14s --out "$work/run" "$@" >"$work/bench.log" 2>&1 &
  runner=$!
  pid=$(process "__echo")
  [ -n "$pid" ] || { echo "no echo child"; exit 1; }
  sleep 5
  record echo "$pid" "raw tokio-tungstenite echo (reject's frame, C=32): echo server CPU"
  wait "$runner" || true
  cat "$work/run/latest.md"
  "$bench" read --warmup 2s --duration 14s --out "$work/run" "$@" >"$work/bench.log" 2>&1 &
  runner=$!
  wait_for "measuring: read mariadb C=32: raw sqlx"
  record sqlx-client-mariadb "$runner" "raw sqlx point-select (MariaDB, C=32): sqlx client CPU"
  wait "$runner" || true
  cat "$work/run/latest.md"
  exit 0
fi

# 2 s warm-up + 14 s per concurrency; the profile takes 8 s in the middle of C = 32.
"$bench" read --warmup 2s --duration 14s --out "$work/run" "$@" >"$work/bench.log" 2>&1 &
runner=$!
for store in mariadb sqlite; do
  pattern="__serve sqlite"
  [ "$store" = mariadb ] && pattern="__serve mysql"
  pid=$(process "$pattern")
  [ -n "$pid" ] || { echo "no $store server child"; break; }
  # The baselines run first; record from 3 s into the server's load.
  wait_for "measuring: read $store C=32: specserve"
  record "read-$store" "$pid" "specserve read ($store, C=32): server CPU"
  # Wait for this store's server to go before looking for the next one.
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
done
wait "$runner" || true
# The run's own figures (CPU per operation), to turn the shares into µs.
cat "$work/run/latest.md"
