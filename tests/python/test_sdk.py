"""The generated Python SDK (generated/sdk/python), as a client author uses it,
against the real server over TLS. tests/python_sdk.rs starts the server and
runs this with SPECSERVE_URL (wss://...) and SPECSERVE_CA (its certificate);
PYTHONPATH points at the package folder. Exit 0 when every check holds."""

import asyncio
import os
import ssl
import time

from specserve_user_api import (
    ApiError,
    AuthGenerateTokenPayload,
    AuthRegisterPayload,
    Client,
    ConnectionClosed,
    HttpApi,
    MessageHistoryPayload,
    MessageSendPayload,
    RoomCreatePayload,
    RoomRef,
    UserRef,
)

URL = os.environ["SPECSERVE_URL"]
TLS = ssl.create_default_context(cafile=os.environ["SPECSERVE_CA"])
UNIQUE = f"{os.getpid()}-{time.time_ns()}"


async def account(name, **options):
    """A fresh account, registered and logged in: (client holding its token, id)."""
    email = f"{name.lower()}-{UNIQUE}@example.com"
    client = await Client.connect(URL, ssl=TLS, **options)
    registered = await client.auth.register(AuthRegisterPayload(name=name, email=email, password="SecretPass123"))
    login = await client.auth.generate_token(AuthGenerateTokenPayload(email=email, password="SecretPass123"))
    client.token = login.token
    return client, registered.user_id


async def typed_calls_and_typed_refusals():
    client, me = await account("Ada")
    user = await client.user.read(UserRef(id=me))
    assert (user.id, user.name, user.role) == (me, "Ada", "user"), user
    try:
        await client.request("userRead", {"id": "not a number"})
        raise AssertionError("an invalid request must be refused")
    except ApiError as error:
        assert error.code == "validation_failed", error
        assert error.details[0]["pointer"] == "/payload/id", error.details
    anonymous = await Client.connect(URL, ssl=TLS)
    try:
        await anonymous.user.read(UserRef(id=me))
        raise AssertionError("no token, no read")
    except ApiError as error:
        assert error.code == "unauthorized", error
    await anonymous.close()
    await client.close()
    try:
        await client.user.read(UserRef(id=me))
        raise AssertionError("a closed client refuses")
    except ConnectionClosed:
        pass


async def the_http_operations_typed_over_https():
    """HttpApi: register, log in, a room, a message its other member hears, its
    history, the room list; refusals as the same typed ApiError."""
    http = HttpApi(URL, ssl=TLS)
    email = f"hana-{UNIQUE}@example.com"
    registered = await http.http_auth_register(AuthRegisterPayload(name="Hana", email=email, password="SecretPass123"))
    login = await http.http_auth_generate_token(AuthGenerateTokenPayload(email=email, password="SecretPass123"))
    http.token = login.token
    other, other_id = await account("Ivo")
    created = await http.http_room_create(RoomCreatePayload(other_user_id=other_id))
    room = created.room.id
    await other.auth.bind()
    await other.room.join(RoomRef(room_id=room))
    heard = asyncio.get_running_loop().create_future()
    other.on("messageNew", lambda event: heard.done() or heard.set_result(event))
    sent = await http.http_message_send(MessageSendPayload(room_id=room, text="over urllib"))
    event = await asyncio.wait_for(heard, 10)
    assert (event.message.id, event.message.author_id) == (sent.message_id, registered.user_id), event
    history = await http.http_message_history(MessageHistoryPayload(room_id=room, limit=10))
    assert [m.text for m in history.messages] == ["over urllib"], history
    listed = await http.http_room_list()
    assert [r.room.id for r in listed.rooms] == [room], listed
    try:
        await HttpApi(URL, ssl=TLS).http_room_list()
        raise AssertionError("no token, no rooms")
    except ApiError as error:
        assert error.code == "unauthorized", error
    try:
        await http.http_message_history(MessageHistoryPayload(room_id=room, limit=500))
        raise AssertionError("a limit past the schema's is refused")
    except ApiError as error:
        assert error.code == "validation_failed", error
        assert error.details[0]["pointer"] == "/limit", error.details
    try:
        # Port 1: nothing listens there.
        await HttpApi("https://127.0.0.1:1", ssl=TLS).http_room_list()
        raise AssertionError("a server that cannot be reached is a ConnectionClosed")
    except ConnectionClosed:
        pass
    await other.close()


async def events_arrive_typed_and_a_reconnect_loses_none():
    alice, _ = await account("Quinn")
    bob_setup, bob_id = await account("Rosa")
    token = bob_setup.token
    await bob_setup.close()
    # Bob's phone reconnects a second after it drops; Alice writes in that gap.
    phone = await Client.connect(URL, ssl=TLS, token=token, min_delay=1.0, max_delay=1.0)
    room = (await alice.room.create(RoomCreatePayload(other_user_id=bob_id))).room
    await phone.room.join(RoomRef(room_id=room.id))
    await phone.auth.bind()
    received, sent = [], []
    # The newest message, once every one is sent; heard when it arrives.
    newest, newest_heard = {"id": None}, asyncio.Event()

    def heard(event):
        received.append(event.message.id)
        if event.message.id == newest["id"]:
            newest_heard.set()

    phone.on("messageNew", heard)

    async def say(text):
        sent.append((await alice.message.send(MessageSendPayload(room_id=room.id, text=text))).message_id)

    for n in range(3):
        await say(f"before {n}")
    # The server drops the phone (a frame over its size limit); Alice goes on writing.
    try:
        await phone.request("userRead", {"id": bob_id, "padding": "x" * (100 * 1024)})
        raise AssertionError("an oversized frame closes the connection")
    except ConnectionClosed as closed:
        assert closed.close_code == 1009, closed
    for n in range(3):
        await say(f"while away {n}")
    # Back: the replayed bind asked for what came after the newest seen.
    history = await phone.message.history(MessageHistoryPayload(room_id=room.id, limit=10))
    assert len(history.messages) == 6, history
    for n in range(3):
        await say(f"after {n}")
    # Named only now: a message heard while later ones were still being sent
    # must not count as the last. (No await between naming and checking.)
    newest["id"] = sent[-1]
    if newest["id"] not in received:
        await asyncio.wait_for(newest_heard.wait(), 20)
    assert received == sent, (received, sent)
    await alice.close()
    await phone.close()


async def main():
    await typed_calls_and_typed_refusals()
    await the_http_operations_typed_over_https()
    await events_arrive_typed_and_a_reconnect_loses_none()
    print("python sdk: ok")


asyncio.run(main())
