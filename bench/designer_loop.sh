#!/usr/bin/env bash
# The designer's loop (#33 item 5), measured as an API designer lives it: a
# warm build, one description in asyncapi.yaml edited, then the time until
# the rebuilt server answers on the new spec (`/asyncapi.yaml` serves the
# edit), for a debug and a release build. The edit is undone at the end (and
# on any exit). Prints one line per profile; bench/README keeps the figures.
#
#   bench/designer_loop.sh [rounds]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=${1:-3}
spec=asyncapi.yaml
backup=$(mktemp)
cp "$spec" "$backup"
work=$(mktemp -d)
restore() { cp "$backup" "$spec"; rm -rf "$work" "$backup"; }
trap restore EXIT
now() { date +%s.%N; }

for profile in debug release; do
  flag=""; [ "$profile" = release ] && flag="--release"
  cargo build -q $flag --bin specserve            # warm: what the designer had
  for round in $(seq 1 "$rounds"); do
    marker="designer loop edit $round $$"
    # One field edited: the API's description gains a sentence.
    sed -i "0,/^  description: |/s//  description: |\n    ${marker}./" "$spec"
    start=$(now)
    cargo build -q $flag --bin specserve
    built=$(now)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # From a folder of its own: the server keeps its secret and files where it starts.
    (cd "$work" && exec "$root/target/$profile/specserve" serve --listen "127.0.0.1:$port" \
      --database-url "sqlite://$work/loop-$profile-$round.db?mode=rwc") >"$work/log" 2>&1 &
    server=$!
    # (Fetched whole, then searched: `curl | grep -q` fails under pipefail when grep stops early.)
    until curl -skf "https://127.0.0.1:$port/asyncapi.yaml" -o "$work/served" 2>/dev/null && grep -q "$marker" "$work/served"; do
      kill -0 "$server" 2>/dev/null || { cat "$work/log"; exit 1; }
      sleep 0.02
    done
    answered=$(now)
    kill "$server"; wait "$server" 2>/dev/null || true
    cp "$backup" "$spec"
    printf '%s round %s: build %.1f s, then answering %.2f s later: edit -> answering %.1f s\n' \
      "$profile" "$round" "$(echo "$built - $start" | bc)" "$(echo "$answered - $built" | bc)" "$(echo "$answered - $start" | bc)"
  done
  cargo build -q $flag --bin specserve            # back to the unedited spec
done
