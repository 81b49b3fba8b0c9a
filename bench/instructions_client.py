"""The client of bench/instructions.sh: registers and logs in a user on the
specserve at ws://127.0.0.1:PORT/ws, reads it 20 times, prints "ready" and
waits for a line on stdin; then sends READS user/read frames over CONC
connections (each waits for its reply before the next), checks every reply,
and prints "done"."""
import asyncio
import json
import os
import sys
import time

import websockets

port, reads, conc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
url = f"ws://127.0.0.1:{port}/ws"


async def ask(ws, message):
    await ws.send(json.dumps(message))
    return json.loads(await ws.recv())


async def read(token, user_id, count):
    async with websockets.connect(url) as ws:
        frame = json.dumps({"channel": "user/read", "apiToken": token, "payload": {"id": user_id}})
        for _ in range(count):
            await ws.send(frame)
            reply = json.loads(await ws.recv())
            if reply.get("id") != user_id:
                raise SystemExit(f"unexpected reply: {reply}")


async def main():
    email = f"instructions-{os.getpid()}-{time.time_ns()}@example.com"
    password = "bench-password-123"
    async with websockets.connect(url) as ws:
        registered = await ask(ws, {"channel": "auth/register", "payload": {"name": "Bench", "email": email, "password": password}})
        login = await ask(ws, {"channel": "auth/generateToken", "payload": {"email": email, "password": password}})
    user_id, token = registered["userId"], login["token"]
    await read(token, user_id, 20)
    print("ready", flush=True)
    sys.stdin.readline()
    await asyncio.gather(*[read(token, user_id, reads // conc) for _ in range(conc)])
    print("done", flush=True)


asyncio.run(main())
