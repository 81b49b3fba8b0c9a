// The generated TypeScript SDK against `specserve-tools mock` of the
// project's own spec: a client author's first run, before any server exists.
// toolchain/tests/mock.rs starts the mock and runs `node --test sdk_against_mock.mjs` here
// (named so that the seed run, `node --test` over the folder, leaves it out) with
// SPECSERVE_MOCK (host:port).
import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket from "ws";
import { ApiError, connect } from "specserve-user-api";

const address = process.env.SPECSERVE_MOCK;
assert.ok(address, "SPECSERVE_MOCK names the mock under test");

test("typed calls get the document's examples; refusals are ApiErrors; events reach on()", async () => {
  const client = await connect(`ws://${address}/ws`, { WebSocket, token: "any token: the mock checks none" });
  const { userId } = await client.auth.register({ name: "Ada", email: "ada@example.com", password: "SecretPass123" });
  assert.equal(typeof userId, "number");
  const me = await client.user.read({ id: userId });
  assert.equal(typeof me.email, "string");
  const { rooms } = await client.room.list();
  assert.ok(Array.isArray(rooms));
  await assert.rejects(
    client.request("userRead", /** @type {any} */ ({ id: "not a number" })),
    (e) => e instanceof ApiError && e.code === "validation_failed" && e.details[0].pointer === "/payload/id",
  );
  const heard = new Promise((resolve) => client.on("messageNew", resolve));
  const pushed = await fetch(`http://${address}/mock/emit/messageNew`, { method: "POST" });
  assert.deepEqual(await pushed.json(), { delivered: 1 });
  const event = await heard;
  assert.equal(typeof event.message.text, "string");
  client.close();
});
