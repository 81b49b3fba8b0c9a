#!/usr/bin/env bash
# Instructions the server executes per frame, counted by callgrind: the same
# figure for the same binary and workload whatever else the machine is doing
# (CPU seconds on this shared VM vary 10-20% between runs), so a change to the
# per-frame path can be measured to about 1%. Only user space is counted: the
# kernel's share (sends, wake-ups) is the profiles' business. Under valgrind
# sha2 runs its portable code (valgrind hides SHA-NI), so authentication
# counts more than it costs on a CPU with SHA extensions.
#
#   bench/instructions.sh [--tls] [read|reject|echo|floor] [DATABASE_URL] [FRAMES] [CONNECTIONS]
#
# read (the default): `user/read` of a logged-in user, on the store at
# DATABASE_URL. reject: the `reject` scenario's frame (fails validation, no
# database call). echo: the same frame to the bench's echo child (the raw
# tokio-tungstenite baseline), which has no database. floor: the same frame to
# the bench's hand-written floor server (`__floor`, #33), with the token it
# knows, so it is refused where a hand-written server refuses it. --tls: the
# child serves TLS (a new self-signed certificate) and the client speaks it,
# as the `floor` bench does, so TLS's own instructions are counted too.
#
# Starts the child under valgrind with instrumentation off, lets
# bench/instructions_client.py warm up (for read: register and log in; argon2
# is not counted), counts FRAMES frames over CONNECTIONS sockets, and prints
# the total per frame and the heaviest functions by inclusive count. Keeps the
# callgrind file as target/instructions/callgrind.out.
set -euo pipefail
cd "$(dirname "$0")/.."
tls=()
[ "${1:-}" = --tls ] && tls=(--tls) && shift
what=read
case ${1:-} in read | reject | echo | floor) what=$1 && shift ;; esac
url=${1:-mysql://root@127.0.0.1:3306/specserve_instructions}
frames=${2:-4000}
connections=${3:-4}
child=(__serve "$url" "${tls[@]}")
[ "$what" = echo ] && child=(__echo "${tls[@]}")
[ "$what" = floor ] && child=(__floor "$url" "${tls[@]}" --child-token not-checked-before-validation --child-user-id 1)
cargo build --release -p specserve-bench
out=target/instructions
mkdir -p "$out"
rm -f "$out"/callgrind.out* "$out/stdin"
mkfifo "$out/stdin"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out" \
  target/release/specserve-bench "${child[@]}" <"$out/stdin" >"$out/server.out" 2>"$out/valgrind.log" &
server=$!
exec 7>"$out/stdin" # the child runs until its stdin closes
trap 'kill $server 2>/dev/null || true; rm -f "$out/stdin"' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(awk '/^port/ {print $2}' "$out/server.out")
  [ -n "$port" ] && break
  kill -0 $server 2>/dev/null || { cat "$out/valgrind.log"; exit 1; }
  sleep 0.2
done
[ -n "$port" ] || { echo "the server did not start"; exit 1; }
coproc client { python3 bench/instructions_client.py "$what" "$port" "$frames" "$connections" "${tls[@]}"; }
read -r line <&"${client[0]}"
[ "$line" = ready ] || { echo "client: $line"; exit 1; }
callgrind_control -i on $server >/dev/null 2>&1
echo go >&"${client[1]}"
read -r line <&"${client[0]}"
[ "$line" = done ] || { echo "client: $line"; exit 1; }
callgrind_control -d $server >/dev/null 2>&1
exec 7>&-
wait $server || true
dump=$(ls "$out"/callgrind.out.* | head -1)
mv "$dump" "$out/callgrind.out"
total=$(callgrind_annotate "$out/callgrind.out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "instructions per $what frame: $((total / frames)) ($total for $frames frames over $connections connections, ${child[*]})"
callgrind_annotate --inclusive=yes "$out/callgrind.out" >"$out/inclusive.txt"
callgrind_annotate "$out/callgrind.out" >"$out/self.txt"
python3 - "$out" "$frames" <<'PY'
import re, sys
out, frames = sys.argv[1], int(sys.argv[2])
line = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(?:\*\s+)?\S*?:(.*?) \[")
def counts(name):
    for text in open(f"{out}/{name}.txt"):
        if m := line.match(text):
            yield int(m.group(1).replace(",", "")) // frames, m.group(2)
inclusive = {}
for count, function in counts("inclusive"):
    inclusive.setdefault(function, count)
parts = [
    ("the connection's task (all of it)", "specserve_runtime::server::connection::Connection<Svc,S>::poll_serve"),
    ("  a frame, routed and answered", "specserve_runtime::server::connection::Connection<Svc,S>::start::{{closure}}"),
    ("    the store's user_by_id", "<specserve::store::Database as specserve::store::Store>::user_by_id::{{closure}}"),
    ("      of it sqlx's fetch_optional", "sqlx_core::query::Query<DB,A>::fetch_optional::{{closure}}"),
    ("      of it the row to a User", "specserve::store::mysql::user_from_row"),
    ("    authentication (token hash, cache)", "specserve_runtime::service::authenticate::{{closure}}"),
    ("    schema validation", "specserve_runtime::frame::Frame::validate"),
    ("    payload to its type", "specserve_runtime::frame::Frame::take"),
    ("    the reply encoded", "specserve_runtime::encode::encode"),
    ("  frame parsed and routed (prepare)", "specserve_runtime::route::<impl specserve_runtime::service::Service for A>::prepare"),
]
print("inclusive, per frame:")
for label, function in parts:
    print(f"  {inclusive.get(function, 0):>7}  {label}")
print("heaviest functions by their own count, per frame:")
for count, function in list(counts("self"))[:15]:
    print(f"  {count:>7}  {function[:120]}")
PY
