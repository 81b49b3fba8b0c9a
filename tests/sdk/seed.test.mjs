// The generated TypeScript SDK, installed from generated/sdk/typescript as a
// user would, drives the seed-000 flow against a real server over TLS.
// tests/sdk.rs starts the server and runs `node --test` here with
// SPECSERVE_URL (wss://...) and SPECSERVE_CA (the server's PEM certificate).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";

import WebSocket from "ws";
import { ApiError, Client, ConnectionError, ERROR_CODES, HttpApi, TimeoutError, connect, loginWithCookie } from "specserve-user-api";

const url = process.env.SPECSERVE_URL;
const ca = process.env.SPECSERVE_CA ? readFileSync(process.env.SPECSERVE_CA) : undefined;
assert.ok(url, "SPECSERVE_URL names the server under test");

/** `ws` trusting the test server's certificate: the SDK takes any WebSocket class. */
class TrustingWebSocket extends WebSocket {
  /** @param {string} address */
  constructor(address) {
    super(address, { ca });
  }
}

const unique = `${process.pid}-${Date.now()}`;

/** Registers and logs in a fresh account; returns its id and a client holding its token. */
async function account(name) {
  const email = `${name.toLowerCase()}-${unique}@example.com`;
  const client = await connect(url, { WebSocket: TrustingWebSocket });
  const { userId } = await client.auth.register({ name, email, password: "SecretPass123" });
  const { token, expires_at } = await client.auth.generateToken({ email, password: "SecretPass123" });
  assert.match(expires_at, /^\d{4}-\d{2}-\d{2}T/);
  client.token = token;
  return { client, userId, email, token };
}

test("the seed flow: register, log in, create, read, update, delete, log out", async () => {
  const { client, userId, email } = await account("Alice");
  assert.equal(typeof userId, "number");

  const me = await client.user.read({ id: userId });
  assert.deepEqual({ id: me.id, name: me.name, email: me.email, role: me.role }, { id: userId, name: "Alice", email, role: "user" });

  const { userId: bobId } = await client.user.create({ name: "Bob", email: `bob-${unique}@example.com` });
  await client.user.update({ id: bobId, name: "Robert" });
  assert.equal((await client.user.read({ id: bobId })).name, "Robert");
  await client.user.delete({ id: bobId });
  // Gone; a non-admin is told `forbidden` rather than `not_found`, so ids cannot be probed.
  await assert.rejects(client.user.read({ id: bobId }), (error) => error instanceof ApiError && error.code === "forbidden");

  await client.auth.logout({});
  await assert.rejects(client.user.read({ id: userId }), (error) => error instanceof ApiError && error.code === "unauthorized");
  client.close();
});

test("a refused request throws a typed ApiError with code, message, details and correlation id", async () => {
  const { client } = await account("Carol");
  const error = await client.auth.register({ name: "", email: "not an email", password: "short" }).then(
    () => assert.fail("an invalid registration must be refused"),
    (error) => error,
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.code, "validation_failed");
  assert.ok(ERROR_CODES.includes(error.code));
  assert.equal(error.operation, "authRegister");
  assert.equal(typeof error.correlationId, "string");
  assert.ok(error.details.length >= 2, JSON.stringify(error.details));
  assert.match(error.message, /authRegister: validation_failed/);

  // Someone else's account: the fix to the seed's "anyone with a token may edit anyone".
  const dave = await account("Dave");
  await assert.rejects(client.user.update({ id: dave.userId, name: "Mallory" }), (e) => e instanceof ApiError && e.code === "forbidden");
  dave.client.close();
  client.close();
});

test("pipelined requests on one socket each get their own reply", async () => {
  const { client } = await account("Erin");
  const names = Array.from({ length: 12 }, (_, i) => `Managed ${i}`);
  const created = await Promise.all(
    names.map((name, i) => client.user.create({ name, email: `managed-${i}-${unique}@example.com` })),
  );
  const ids = created.map((reply) => reply.userId);
  assert.equal(new Set(ids).size, names.length, "every create got its own id");
  // All reads in flight at once; each reply must be the user that was asked for.
  const read = await Promise.all(ids.map((id) => client.user.read({ id })));
  assert.deepEqual(read.map((user) => user.id), ids);
  assert.deepEqual(read.map((user) => user.name), names);
  client.close();
});

test("a request waiting on a connection that never opens times out with TimeoutError", async () => {
  // A TCP listener that accepts and never answers: the TLS handshake never ends.
  const silent = createServer(() => {});
  await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = /** @type {import("node:net").AddressInfo} */ (silent.address());
  const client = new Client(`wss://127.0.0.1:${port}/ws`, { WebSocket: TrustingWebSocket, reconnect: false });
  await assert.rejects(client.user.read({ id: 1 }, { timeoutMs: 50 }), (e) => e instanceof TimeoutError && e.timeoutMs === 50);
  client.close();
  silent.close();
});

test("close() fails what is in flight, and later calls fail at once", async () => {
  const { client, userId } = await account("Frank");
  const inFlight = client.user.read({ id: userId });
  client.close();
  await assert.rejects(inFlight, ConnectionError);
  await assert.rejects(client.user.read({ id: userId }), ConnectionError);
});

test("after the server closes the socket the client reconnects and carries on", async () => {
  const states = [];
  const { client, userId } = await account("Grace");
  client.onStateChange = (state) => states.push(state);
  // Over the server's message size limit: it closes the connection (1009).
  const oversized = client.request("userRead", { id: userId, padding: "x".repeat(100 * 1024) });
  await assert.rejects(oversized, (e) => e instanceof ConnectionError && e.closeCode === 1009);
  // Made while disconnected: waits for the new connection, then succeeds with the same token.
  assert.equal((await client.user.read({ id: userId })).id, userId);
  assert.deepEqual(states, ["reconnecting", "open"]);
  client.close();
});

test("a WebSocket constructor that throws during a reconnect is retried", async () => {
  let constructed = 0;
  class FlakyWebSocket extends TrustingWebSocket {
    /** @param {string} address */
    constructor(address) {
      constructed += 1;
      // The first reconnect finds no network (a browser offline, say).
      if (constructed === 2) throw new Error("network is unreachable");
      super(address);
    }
  }
  const states = [];
  const email = `henry-${unique}@example.com`;
  const client = await connect(url, { WebSocket: FlakyWebSocket, onStateChange: (state) => states.push(state) });
  const { userId } = await client.auth.register({ name: "Henry", email, password: "SecretPass123" });
  client.token = (await client.auth.generateToken({ email, password: "SecretPass123" })).token;
  const oversized = client.request("userRead", { id: userId, padding: "x".repeat(100 * 1024) });
  await assert.rejects(oversized, (e) => e instanceof ConnectionError && e.closeCode === 1009);
  assert.equal((await client.user.read({ id: userId })).id, userId);
  assert.equal(constructed, 3, "the failed attempt was retried");
  assert.equal(states.at(-1), "open");
  client.close();
});

test("connecting to a port nobody listens on rejects with ConnectionError", async () => {
  const dead = url.replace(/:\d+\//, ":9/");
  await assert.rejects(connect(dead, { WebSocket: TrustingWebSocket, reconnect: false }), ConnectionError);
});

test("pushed events arrive typed through on(): a message, its receipt, presence", async () => {
  const alice = await account("Ivy");
  const bob = await account("Jack");
  const { room } = await alice.client.room.create({ otherUserId: bob.userId });
  const online = new Promise((resolve) => {
    const stop = alice.client.on("presenceChanged", (event) => {
      if (event.userId === bob.userId) {
        stop();
        resolve(event);
      }
    });
  });
  assert.equal((await bob.client.auth.bind({})).userId, bob.userId);
  // Invited, Bob is a number to Alice until he accepts; then she sees him online.
  await bob.client.room.join({ roomId: room.id });
  assert.deepEqual(await online, { userId: bob.userId, online: true });

  const received = new Promise((resolve) => bob.client.on("messageNew", resolve));
  const delivered = new Promise((resolve) => alice.client.on("messageDelivered", resolve));
  const sent = await alice.client.message.send({ roomId: room.id, text: "hello from node", clientMsgId: "n-1" });
  const event = await received;
  assert.deepEqual(event.message, {
    id: sent.messageId,
    roomId: room.id,
    authorId: alice.userId,
    text: "hello from node",
    createdAt: sent.createdAt,
    clientMsgId: "n-1",
  });
  assert.deepEqual(await delivered, { roomId: room.id, messageId: sent.messageId });
  const page = await bob.client.message.history({ roomId: room.id, limit: 10 });
  assert.deepEqual(page.messages.map((m) => m.id), [sent.messageId]);
  alice.client.close();
  bob.client.close();
});

/** Resolves with the next presence event about `userId` that `client` receives. */
function presenceOf(client, userId, online) {
  return new Promise((resolve) => {
    const stop = client.on("presenceChanged", (event) => {
      if (event.userId === userId && event.online === online) {
        stop();
        resolve(event);
      }
    });
  });
}

test("a reconnected client is bound again by itself and its events keep coming", async () => {
  const alice = await account("Kate");
  const bob = await account("Liam");
  const { room } = await alice.client.room.create({ otherUserId: bob.userId });
  await bob.client.room.join({ roomId: room.id });
  const first = presenceOf(alice.client, bob.userId, true);
  await bob.client.auth.bind(); // no payload: every field of it is optional
  await first;
  // The server drops Bob's connection (a frame over its size limit: 1009).
  const offline = presenceOf(alice.client, bob.userId, false);
  const online = presenceOf(alice.client, bob.userId, true);
  const oversized = bob.client.request("userRead", { id: bob.userId, padding: "x".repeat(100 * 1024) });
  await assert.rejects(oversized, (e) => e instanceof ConnectionError && e.closeCode === 1009);
  await offline;
  // Bob's SDK reconnects and replays his bind (x-specserve-session): he is online again...
  await online;
  // ...and what Alice sends reaches him without his code doing anything.
  const received = new Promise((resolve) => bob.client.on("messageNew", resolve));
  const sent = await alice.client.message.send({ roomId: room.id, text: "still there?", clientMsgId: "r-1" });
  assert.equal((await received).message.id, sent.messageId);
  alice.client.close();
  bob.client.close();
});

test("a reconnect while messages flow loses none: each arrives once, in order", async () => {
  const alice = await account("Quinn");
  const bob = await account("Rosa");
  // Bob's phone reconnects a second after it drops: Alice writes in that gap.
  const phone = await connect(url, { WebSocket: TrustingWebSocket, token: bob.token, reconnect: { minDelayMs: 1000, maxDelayMs: 1000 } });
  const { room } = await alice.client.room.create({ otherUserId: bob.userId });
  await phone.room.join({ roomId: room.id });
  await phone.auth.bind();
  /** @type {number[]} */
  const received = [];
  /** @type {(id: number) => void} */
  let seen = () => {};
  phone.on("messageNew", (event) => {
    received.push(event.message.id);
    seen(event.message.id);
  });
  const sent = [];
  const say = async (text) => sent.push((await alice.client.message.send({ roomId: room.id, text })).messageId);
  for (let n = 0; n < 5; n++) await say(`before ${n}`);
  // The server drops the phone (a frame over its size limit); Alice goes on writing.
  const offline = presenceOf(alice.client, bob.userId, false);
  const back = presenceOf(alice.client, bob.userId, true);
  const oversized = phone.request("userRead", { id: bob.userId, padding: "x".repeat(100 * 1024) });
  await assert.rejects(oversized, (e) => e instanceof ConnectionError && e.closeCode === 1009);
  await offline;
  for (let n = 0; n < 5; n++) await say(`while away ${n}`);
  await back;
  for (let n = 0; n < 5; n++) await say(`after ${n}`);
  const newest = sent.at(-1);
  if (!received.includes(newest)) await new Promise((resolve) => (seen = (id) => id === newest && resolve(id)));
  // The newest arrives last (live): by then the replayed bind has asked for
  // what came after the newest message seen, and handed it over first.
  assert.deepEqual(received, sent);
  alice.client.close();
  phone.close();
  bob.client.close();
});

test("an aborted call rejects with AbortError and is forgotten", async () => {
  const { client, userId } = await account("Mia");
  const controller = new AbortController();
  const call = client.user.read({ id: userId }, { signal: controller.signal });
  controller.abort();
  await assert.rejects(call, { name: "AbortError" });
  const already = AbortSignal.abort(new Error("not needed any more"));
  await assert.rejects(client.user.read({ id: userId }, { signal: already }), /not needed any more/);
  assert.equal((await client.user.read({ id: userId })).id, userId, "the client carries on");
  client.close();
});

test("a certificate the client does not accept is named, not an opaque 1006", async () => {
  // The certificate is trusted but is not for this name: TLS verification fails.
  class WrongNameWebSocket extends WebSocket {
    /** @param {string} address */
    constructor(address) {
      super(address, { ca, servername: "not-this-server.example" });
    }
  }
  const error = await connect(url, { WebSocket: WrongNameWebSocket, reconnect: false }).catch((e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /certificate/i);
});

test("a page logs in with the cookie endpoint, and a refusal is a typed ApiError", async () => {
  const { client, userId, email } = await account("Noah");
  client.close();
  const answer = await loginWithCookie(url, { email, password: "SecretPass123" });
  assert.equal(answer.userId, userId);
  assert.match(answer.expiresAt, /^\d{4}-\d{2}-\d{2}T/);
  const refused = loginWithCookie(url, { email, password: "not-the-password" });
  await assert.rejects(refused, (e) => e instanceof ApiError && e.code === "unauthorized");
});

test("the HTTP operations over fetch: register, log in, a room, a message, its history", async () => {
  const http = new HttpApi(url);
  const email = `hana-${unique}@example.com`;
  const { userId } = await http.httpAuthRegister({ name: "Hana", email, password: "SecretPass123" });
  const { token } = await http.httpAuthGenerateToken({ email, password: "SecretPass123" });
  http.token = token;
  const other = await account("Ivo");
  const { room } = await http.httpRoomCreate({ otherUserId: other.userId });
  await other.client.auth.bind({});
  await other.client.room.join({ roomId: room.id });
  const received = new Promise((resolve) => other.client.on("messageNew", resolve));
  const sent = await http.httpMessageSend({ roomId: room.id, text: "over fetch" });
  const event = await received;
  assert.deepEqual([event.message.id, event.message.authorId], [sent.messageId, userId]);
  const { messages } = await http.httpMessageHistory({ roomId: room.id, limit: 10 });
  assert.deepEqual(messages.map((m) => m.text), ["over fetch"]);
  const { rooms } = await http.httpRoomList();
  assert.deepEqual(rooms.map((r) => r.room.id), [room.id]);
  // Refusals are the same typed ApiError as the socket's.
  await assert.rejects(new HttpApi(url).httpRoomList(), (e) => e instanceof ApiError && e.code === "unauthorized");
  await assert.rejects(
    http.httpMessageHistory({ roomId: room.id, limit: 500 }),
    (e) => e instanceof ApiError && e.code === "validation_failed" && e.details[0].pointer === "/limit",
  );
  other.client.close();
});

test("sessions: list the logins of an account and end one from another", async () => {
  const laptop = await account("Kim");
  const phone = await connect(url, { WebSocket: TrustingWebSocket });
  phone.token = (await phone.auth.generateToken({ email: laptop.email, password: "SecretPass123" })).token;

  const { sessions } = await laptop.client.tokenApi.list({});
  assert.equal(sessions.length, 2);
  const current = sessions.find((s) => s.current);
  const other = sessions.find((s) => !s.current);
  assert.ok(current && other, "one session is this client's");
  assert.ok(!JSON.stringify(sessions).includes(laptop.token), "no secret listed");

  await laptop.client.tokenApi.revoke({ tokenId: other.tokenId });
  await assert.rejects(phone.user.read({ id: laptop.userId }), (error) => error instanceof ApiError && error.code === "unauthorized");
  await assert.rejects(laptop.client.tokenApi.revoke({ tokenId: other.tokenId }), (error) => error instanceof ApiError && error.code === "not_found");
  assert.deepEqual((await laptop.client.tokenApi.list({})).sessions.map((s) => s.tokenId), [current.tokenId]);
  laptop.client.close();
  phone.close();
});

test("refresh: a log-in with a refresh token rotates it, and a replay ends the login", async () => {
  const { client, userId, email } = await account("Lee");
  const login = await client.auth.generateToken({ email, password: "SecretPass123", refresh: true });
  assert.ok(login.refresh_token && login.refresh_expires_at, "a refresh token with the access token");
  const next = await client.auth.refresh({ refreshToken: login.refresh_token });
  client.token = next.token;
  assert.equal((await client.user.read({ id: userId })).id, userId);
  await assert.rejects(client.auth.refresh({ refreshToken: login.refresh_token }), (error) => error instanceof ApiError && error.code === "unauthorized");
  await assert.rejects(client.user.read({ id: userId }), (error) => error instanceof ApiError && error.code === "unauthorized");
  client.close();
});

test("client tokens: an admin makes one whose scopes open exactly their operations", async () => {
  const admin = await connect(url, { WebSocket: TrustingWebSocket });
  admin.token = (await admin.auth.generateToken({ email: process.env.SPECSERVE_ADMIN_EMAIL, password: process.env.SPECSERVE_ADMIN_PASSWORD })).token;
  const made = await admin.tokenApi.createClient({ name: "signup service", scopes: ["users:create"] });
  assert.deepEqual(made.scopes, ["users:create"]);
  const service = await connect(url, { WebSocket: TrustingWebSocket });
  service.token = made.token;
  const { userId } = await service.user.create({ name: "Made", email: `made-${unique}@example.com` });
  await assert.rejects(service.user.read({ id: userId }), (error) => error instanceof ApiError && error.code === "forbidden");
  const listed = (await admin.tokenApi.list({})).sessions.find((s) => s.tokenId === made.tokenId);
  assert.equal(listed?.kind, "client");
  assert.equal(listed?.name, "signup service");
  await admin.tokenApi.revoke({ tokenId: made.tokenId });
  await assert.rejects(service.user.create({ name: "Late", email: `late-${unique}@example.com` }), (error) => error instanceof ApiError && error.code === "unauthorized");
  admin.close();
  service.close();
});

/** An SMTP listener on `port` that resolves each delivered mail's DATA, in order. */
function smtpSink(port) {
  const waiting = [];
  const delivered = [];
  const server = createServer((socket) => {
    let buffer = "";
    let data = null;
    socket.write("220 sink ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === ".") {
            const next = waiting.shift();
            if (next) next(data);
            else delivered.push(data);
            data = null;
            socket.write("250 queued\r\n");
          } else {
            data += line + "\n";
          }
        } else if (/^EHLO/i.test(line)) {
          socket.write("250-sink\r\n250 8BITMIME\r\n");
        } else if (/^DATA$/i.test(line)) {
          data = "";
          socket.write("354 end with .\r\n");
        } else if (/^QUIT$/i.test(line)) {
          socket.end("221 bye\r\n");
        } else {
          socket.write("250 OK\r\n");
        }
      }
    });
  });
  return {
    listening: new Promise((resolve) => server.listen(port, "127.0.0.1", resolve)),
    next: () => (delivered.length ? Promise.resolve(delivered.shift()) : new Promise((resolve) => waiting.push(resolve))),
    close: () => server.close(),
  };
}

test("email verification: the mailed code unlocks log-in", async () => {
  const sink = smtpSink(Number(process.env.SPECSERVE_SMTP_PORT));
  await sink.listening;
  const client = await connect(process.env.SPECSERVE_VERIFYING_URL, { WebSocket: TrustingWebSocket });
  const email = `otp-${unique}@example.com`;
  const registered = await client.auth.register({ name: "Otto", email, password: "SecretPass123" });
  assert.equal(registered.emailVerificationRequired, true);
  const mail = await sink.next();
  const code = /code is (\d{6})/.exec(mail)?.[1];
  assert.ok(code, `a code in the mail: ${mail}`);
  await assert.rejects(client.auth.generateToken({ email, password: "SecretPass123" }), (error) => error instanceof ApiError && error.code === "email_not_verified");
  const verified = await client.auth.verifyEmail({ email, code });
  assert.equal(registered.userId, undefined, "the id comes with verification");
  assert.equal(typeof verified.userId, "number");
  assert.ok((await client.auth.generateToken({ email, password: "SecretPass123" })).token);
  client.close();
  sink.close();
});
