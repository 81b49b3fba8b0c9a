#!/usr/bin/env bash
# Flamegraphs of the server child during `read` (MariaDB, then SQLite), C = 32:
# a release build with frame pointers, `perf record -e cpu-clock -g` on the
# child for 8 s of load, folded and drawn by inferno
# (`cargo install inferno`). Writes bench/results/flamegraph-read-<store>.svg.
# Arguments go to the bench: `bench/profile.sh --server-cores 1` profiles the
# server alone on one core (the load and MariaDB on the others) and writes
# flamegraph-read-<store>-server-cores-1.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/fp RUSTFLAGS="-C force-frame-pointers=yes"
cargo build --release -p specserve-bench
bench="$CARGO_TARGET_DIR/release/specserve-bench"
out=bench/results
suffix=""
[ "$#" -gt 0 ] && suffix="-$(echo "$*" | tr -c 'a-z0-9' '-' | sed 's/^-*//; s/-*$//')"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 2 s warm-up + 14 s per concurrency; the profile takes 8 s in the middle of C = 32.
"$bench" read --warmup 2s --duration 14s --out "$work/run" "$@" >"$work/read.log" 2>&1 &
runner=$!
for store in mariadb sqlite; do
  pattern="__serve sqlite"
  [ "$store" = mariadb ] && pattern="__serve mysql"
  pid=""
  for _ in $(seq 1 600); do
    pid=$(pgrep -f "$pattern" | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { echo "no $store server child"; break; }
  # The baselines run first; record from 3 s into the server's load.
  until grep -q "measuring: read $store C=32: specserve" "$work/read.log"; do
    kill -0 "$runner" 2>/dev/null || { echo "the bench ended early:"; cat "$work/read.log"; exit 1; }
    sleep 0.2
  done
  sleep 3
  perf record -q -e cpu-clock -g -p "$pid" -o "$work/$store.data" -- sleep 8
  perf script -i "$work/$store.data" 2>/dev/null | inferno-collapse-perf >"$work/$store.folded"
  inferno-flamegraph --title "specserve read ($store, C=32${*:+, $*}): server CPU" <"$work/$store.folded" \
    >"$out/flamegraph-read-$store$suffix.svg"
  # The heaviest frames by inclusive share (user-space frames of the server
  # and its libraries, and the kernel's entry), then by self share, for bench/README.md.
  echo "== $store: inclusive"
  awk '{n=$NF; $NF=""; sub(/ $/, ""); split($0, f, ";"); delete seen; for (i in f) if (!(f[i] in seen)) { t[f[i]] += n; seen[f[i]] = 1 } total += n}
       END {for (k in t) printf "%5.1f%% %s\n", 100*t[k]/total, k}' "$work/$store.folded" \
    | sort -rn | grep -E 'specserve|sqlx|tungstenite|rustls|serde|jsonschema|argon|hub|do_syscall_64|__send|recv|epoll' | head -45 || true
  echo "== $store: self"
  awk '{n=$NF; $NF=""; sub(/ $/, ""); k=split($0, f, ";"); t[f[k]] += n; total += n}
       END {for (k in t) printf "%5.1f%% %s\n", 100*t[k]/total, k}' "$work/$store.folded" | sort -rn | head -30 || true
  cp "$work/$store.folded" "$CARGO_TARGET_DIR/read-$store$suffix.folded"
  # Wait for this store's server to go before looking for the next one.
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
done
wait "$runner" || true
