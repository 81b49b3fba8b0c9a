"""An independent client written to the seed README (../shared/seeds/000): it
sends the README's frames byte for byte over wss and checks the README's reply
bodies. Usage: seed_client.py wss://host:port/ (TLS verification off: the server
under test uses a self-signed certificate). Exit 0 on success."""

import asyncio
import json
import ssl
import sys

import websockets


async def call(ws, frame):
    await ws.send(json.dumps(frame))
    return json.loads(await ws.recv())


def expect(reply, **fields):
    for key, value in fields.items():
        if reply.get(key) != value:
            raise AssertionError(f"expected {key}={value!r} in {reply}")


async def main(url):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    async with websockets.connect(url, ssl=context) as ws:
        reply = await call(ws, {"channel": "auth/register", "payload": {
            "name": "Alice", "email": "alice@example.com", "password": "SecretPass123"}})
        expect(reply, success=True)
        alice = reply["userId"]
        reply = await call(ws, {"channel": "auth/generateToken", "payload": {
            "email": "alice@example.com", "password": "SecretPass123"}})
        expect(reply, success=True)
        token = reply["token"]
        assert reply["expires_at"].endswith("Z"), reply
        reply = await call(ws, {"channel": "user/create", "apiToken": token, "payload": {
            "name": "Bob", "email": "bob@example.com"}})
        expect(reply, success=True)
        bob = reply["userId"]
        assert bob != alice
        reply = await call(ws, {"channel": "user/read", "apiToken": token, "payload": {"id": bob}})
        expect(reply, id=bob, name="Bob", email="bob@example.com")
        assert "created_at" in reply and "password" not in json.dumps(reply), reply
        reply = await call(ws, {"channel": "user/update", "apiToken": token, "payload": {
            "id": bob, "name": "Bobby", "email": "bobby@example.com"}})
        expect(reply, success=True)
        reply = await call(ws, {"channel": "user/read", "apiToken": token, "payload": {"id": bob}})
        expect(reply, name="Bobby", email="bobby@example.com")
        reply = await call(ws, {"channel": "user/delete", "apiToken": token, "payload": {"id": bob}})
        expect(reply, success=True)
    print("seed flow ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
