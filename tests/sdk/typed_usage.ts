// Compiled by `tsc --strict` (npm run typecheck), never run: proves the SDK's
// declarations give users the types the spec promises, and refuse what it forbids.
import WebSocket from "ws";
import {
  ApiError,
  HttpApi,
  connect,
  loginWithCookie,
  type ErrorCode,
  type MessageHistoryReply,
  type RoomListReply,
  type Role,
  type UserReadReply,
  type UserUpdatePayload,
} from "specserve-user-api";

export async function usage(url: string, token: string): Promise<void> {
  const client = await connect(url, { token, WebSocket, timeoutMs: 5000, reconnect: { retries: 3 } });

  const user: UserReadReply = await client.user.read({ id: 1 });
  const role: Role = user.role;
  const created: string = user.created_at;
  const { userId } = await client.user.create({ name: "Bob", email: "bob@example.com" });
  const change: UserUpdatePayload = { id: userId, name: "Robert" };
  await client.user.update(change, { timeoutMs: 100 });
  const sameThing: UserReadReply = await client.request("userRead", { id: userId });

  // @ts-expect-error: ids are numbers
  await client.user.read({ id: "1" });
  // @ts-expect-error: a registration needs a password
  await client.auth.register({ name: "Eve", email: "eve@example.com" });
  // @ts-expect-error: roles are a closed set
  await client.user.update({ id: 1, role: "root" });
  // @ts-expect-error: no such operation
  await client.request("userList", {});
  // @ts-expect-error: replies have no undeclared fields
  void user.password;

  try {
    await client.user.delete({ id: userId });
  } catch (error) {
    if (error instanceof ApiError) {
      const code: ErrorCode = error.code;
      const pointers: string[] = error.details.map((detail) => detail.pointer);
      void [code, pointers];
    }
  }
  // Pushed events are typed by the spec's send operations.
  const stop = client.on("messageNew", (event) => {
    const text: string = event.message.text;
    const room: number = event.message.roomId;
    void [text, room];
  });
  stop();
  // @ts-expect-error: no such event
  client.on("messageDeleted", () => {});
  client.on("presenceChanged", (event) => {
    // @ts-expect-error: presence is a boolean
    const status: string = event.online;
    void status;
  });

  // An operation whose payload has no required field may be called without one,
  // and any call may be given an AbortSignal.
  const controller = new AbortController();
  await client.auth.bind(undefined, { signal: controller.signal });
  await client.auth.bind();
  // @ts-expect-error: a payload with required fields must be given
  await client.user.read();

  // Browser pages log in with a cookie; the answer is typed.
  const session = await loginWithCookie("wss://localhost:8443/ws", { email: "a@example.com", password: "pw" });
  const sessionUser: number = session.userId;
  void sessionUser;

  // The HTTP operations take the payloads and give the replies of the calls they mirror.
  const http = new HttpApi("https://localhost:8443", { token });
  const page: MessageHistoryReply = await http.httpMessageHistory({ roomId: 1, limit: 10 });
  const rooms: RoomListReply = await http.httpRoomList();
  // @ts-expect-error: the history needs its room
  await http.httpMessageHistory({ limit: 10 });
  void [page, rooms];

  void [role, created, sameThing];
  client.close();
}
