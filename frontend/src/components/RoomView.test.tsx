import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api";
import { SessionContext } from "../app/context";
import { FakeSocket } from "../test/fakeSocket";
import { aiReply, ana, ben, message, welcome } from "../test/fixtures";
import type { Message } from "../types";
import { RoomView } from "./RoomView";

const userEvent = userEventLib.setup({ delay: null });

function page(messages: Message[], has_more = false) {
  return new Response(JSON.stringify({ messages, has_more }), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}

let fetchMock: ReturnType<typeof vi.fn>;
let signOut: ReturnType<typeof vi.fn<() => void>>;

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  fetchMock = vi.fn(async () => page([message(1, { content: "hello there" })]));
  vi.stubGlobal("fetch", fetchMock);
  signOut = vi.fn<() => void>();
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderRoom() {
  const session = { user: ana, token: "tok" };
  render(
    <SessionContext.Provider value={{ session, api: new Api("tok"), signOut }}>
      <RoomView roomId="r1" onRoomChanged={() => undefined} />
    </SessionContext.Provider>,
  );
  return FakeSocket.latest();
}

async function join(socket: FakeSocket) {
  act(() => {
    socket.open();
    socket.receive(welcome({ participants: [ana, ben] }));
  });
  await screen.findByText("hello there");
}

describe("RoomView", () => {
  it("loads the newest page after a fresh welcome and shows who is here", async () => {
    const socket = renderRoom();
    await join(socket);
    expect(socket.sent[0]).toEqual({ type: "hello", token: "tok" });
    expect(fetchMock).toHaveBeenCalledWith("/api/rooms/r1/messages?limit=50", expect.anything());
    expect(screen.getByRole("status").textContent).toBe("Connected");
    const people = within(screen.getByRole("complementary", { name: "Participants" }));
    expect(people.getByText("Ben").closest("li")?.textContent).toContain("online");
    expect(people.getByText("@sage · gpt-4o-mini")).toBeTruthy();
  });

  it("offers Stop only on a streaming AI reply, and Stop sends interrupt", async () => {
    const socket = renderRoom();
    await join(socket);
    act(() => socket.receive({ type: "message", message: aiReply(2, { reply_to: "m1" }) }));
    const log = screen.getByRole("log");
    expect(within(log).getByText("Thinking…")).toBeTruthy();
    expect(within(log).getAllByRole("button", { name: "Stop" })).toHaveLength(1);

    act(() => socket.receive({ type: "delta", message_id: "m2", text: "Ship it" }));
    expect(within(log).getByText("Ship it")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(socket.framesOf("interrupt")).toEqual([{ type: "interrupt", message_id: "m2" }]);

    act(() =>
      socket.receive({
        type: "message",
        message: aiReply(2, { content: "Ship it", status: "interrupted", reply_to: "m1" }),
      }),
    );
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
    expect(within(log).getByText(/Stopped/)).toBeTruthy();
  });

  it("shows a failed reply's reason plainly", async () => {
    const socket = renderRoom();
    await join(socket);
    act(() =>
      socket.receive({ type: "message", message: aiReply(2, { status: "error", error: "Model unavailable." }) }),
    );
    expect(screen.getByText("Failed: Model unavailable.")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
  });

  it("shows a message sent while disconnected as pending, then sends it once on reconnect", async () => {
    const socket = renderRoom();
    await join(socket);
    act(() => socket.drop(1006));
    expect(screen.getByRole("status").textContent).toBe("Reconnecting…");
    await userEvent.type(screen.getByLabelText("Message"), "still there?{Enter}");
    expect(screen.getByText("Pending — sends when reconnected")).toBeTruthy();

    const next = await waitFor(() => {
      expect(FakeSocket.all).toHaveLength(2);
      return FakeSocket.latest();
    });
    act(() => {
      next.open();
      next.receive(welcome({ resumed: true, last_seq: 1 }));
    });
    expect(next.sent[0]).toEqual({ type: "hello", token: "tok", last_seq: 1 });
    const sends = next.framesOf("send");
    expect(sends).toHaveLength(1);
    const id = sends[0].client_msg_id;
    act(() => {
      next.receive({ type: "message", message: message(2, { content: "still there?", client_msg_id: id }) });
      next.receive({ type: "ack", client_msg_id: id, message_id: "m2", seq: 2, duplicate: false });
    });
    expect(screen.queryByText(/Pending/)).toBeNull();
    expect(screen.getAllByText("still there?")).toHaveLength(1);
    expect(socket.framesOf("send")).toEqual([]);
  });

  it("goes back to the name screen when the token is refused", async () => {
    const socket = renderRoom();
    act(() => socket.drop(4401));
    expect(signOut).toHaveBeenCalled();
  });

  it("says so when the room does not exist", async () => {
    const socket = renderRoom();
    act(() => socket.drop(4404));
    expect(screen.getByRole("heading", { name: "Room not found" })).toBeTruthy();
  });
});
