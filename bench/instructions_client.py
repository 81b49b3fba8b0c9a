"""The client of bench/instructions.sh, talking to ws://127.0.0.1:PORT/ws
(wss:// with a fifth argument --tls, taking the child's self-signed
certificate unchecked: the count, not the peer, is what matters here).

WHAT is the frame counted:
  read    registers and logs in a user, then sends user/read for it; every
          reply must be that user.
  reject  sends bench's `reject` frame (user/read with a string id: fails
          validation before any database call); every reply must be an error.
  echo    the same frame to the bench's echo child; every reply must be it.
  floor   the same frame to the bench's hand-written floor server, which knows
          its token; every reply must be its validation error.

Warms up with 20 frames, prints "ready" and waits for a line on stdin; then
sends COUNT frames over CONC connections (each waits for its reply before the
next) and prints "done"."""
import asyncio
import json
import os
import ssl
import sys
import time

import websockets

what, port, count, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
TLS = None
if sys.argv[5:] == ["--tls"]:
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    TLS.check_hostname = False
    TLS.verify_mode = ssl.CERT_NONE
url = f"{'wss' if TLS else 'ws'}://127.0.0.1:{port}/ws"
# The frame of bench/src/main.rs's `reject` scenario.
REJECTED = '{"channel":"user/read","apiToken":"not-checked-before-validation","payload":{"id":"seven"}}'


async def ask(ws, message):
    await ws.send(json.dumps(message))
    return json.loads(await ws.recv())


async def exchange(frame, expected, count):
    async with websockets.connect(url, ssl=TLS) as ws:
        for _ in range(count):
            await ws.send(frame)
            reply = await ws.recv()
            if not expected(reply):
                raise SystemExit(f"unexpected reply: {reply}")


async def read_frames():
    email = f"instructions-{os.getpid()}-{time.time_ns()}@example.com"
    password = "bench-password-123"
    async with websockets.connect(url, ssl=TLS) as ws:
        registered = await ask(ws, {"channel": "auth/register", "payload": {"name": "Bench", "email": email, "password": password}})
        login = await ask(ws, {"channel": "auth/generateToken", "payload": {"email": email, "password": password}})
    user_id, token = registered["userId"], login["token"]
    frame = json.dumps({"channel": "user/read", "apiToken": token, "payload": {"id": user_id}})
    return frame, lambda reply: json.loads(reply).get("id") == user_id


async def main():
    if what == "read":
        frame, expected = await read_frames()
    elif what == "reject":
        frame, expected = REJECTED, lambda reply: "error" in json.loads(reply)
    elif what == "echo":
        frame, expected = REJECTED, lambda reply: reply == REJECTED
    elif what == "floor":
        frame, expected = REJECTED, lambda reply: json.loads(reply)["error"]["code"] == "validation_failed"
    else:
        raise SystemExit(f"unknown WHAT {what!r}: read, reject, echo or floor")
    await exchange(frame, expected, 20)
    print("ready", flush=True)
    sys.stdin.readline()
    await asyncio.gather(*[exchange(frame, expected, count // conc) for _ in range(conc)])
    print("done", flush=True)


asyncio.run(main())
