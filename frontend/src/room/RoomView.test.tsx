import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from "vitest";
import { Api } from "../api/api";
import type { Me, Message, Room } from "../api/types";
import { SessionContext, type SignOutReason } from "../app/context";
import { FakeSocket } from "../test/fakeSocket";
import { aiReply, ana, ben, message, room, welcome } from "../test/fixtures";
import { RoomView } from "./RoomView";

const userEvent = userEventLib.setup({ delay: null });

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function page(messages: Message[], has_more = false) {
  return json({ messages, has_more });
}

let fetchMock: ReturnType<typeof vi.fn>;
let signOut: Mock<(why: SignOutReason) => void>;
let refreshRooms: Mock<() => void>;
/** What GET /api/rooms/r1 answers: the room as the caller sees it (its role included). */
let restRoom: Room;

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  restRoom = room({ role: "member", access: "invite", allow_guests: false });
  fetchMock = vi.fn(async (url: string) => {
    if (url === "/api/rooms/r1") return json(restRoom);
    return page([message(1, { content: "hello there" })]);
  });
  vi.stubGlobal("fetch", fetchMock);
  signOut = vi.fn<(why: SignOutReason) => void>();
  refreshRooms = vi.fn<() => void>();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Longer than any reconnect waits: the longest 4429 backoff (300 s) and its jitter (half). */
const LONGER_THAN_ANY_BACKOFF_MS = 10 * 60_000;
/** The first wait after a 4429 is 30 s, plus up to half again of jitter. */
const LIMITED_WAIT_MS = { min: 30_000, max: 45_000 };

const me: Me = { ...ana, username: "ana", kind: "user", admin: false };

function renderRoom() {
  render(
    <SessionContext.Provider value={{ user: me, api: new Api(), signOut, refreshRooms }}>
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
    // The session cookie authenticates the socket: hello carries no token.
    expect(socket.sent[0]).toEqual({ type: "hello" });
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

  it("shows a queued reply with its place as it moves up, and lets anyone stop it", async () => {
    const socket = renderRoom();
    await join(socket);
    const queued = (position: number) => aiReply(2, { reply_to: "m1", status: "queued", queue_position: position });
    act(() => socket.receive({ type: "message", message: queued(2) }));
    const log = screen.getByRole("log");
    expect(within(log).getByText(/Queued \(#2\)/)).toBeTruthy();
    expect(within(log).queryByText("Thinking…")).toBeNull();

    act(() => socket.receive({ type: "message", message: queued(1) }));
    expect(within(log).getByText(/Queued \(#1\)/)).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(socket.framesOf("interrupt")).toEqual([{ type: "interrupt", message_id: "m2" }]);

    act(() => socket.receive({ type: "message", message: aiReply(2, { reply_to: "m1" }) }));
    expect(within(log).queryByText(/Queued/)).toBeNull();
    expect(within(log).getByText("Thinking…")).toBeTruthy();
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
    expect(next.sent[0]).toEqual({ type: "hello", last_seq: 1 });
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

  it("goes back to sign-in when the session is refused (4401)", async () => {
    const socket = renderRoom();
    act(() => socket.drop(4401));
    expect(signOut).toHaveBeenCalledWith("expired");
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("goes back to sign-in, saying the session ended elsewhere, on 1008", async () => {
    const socket = renderRoom();
    await join(socket);
    act(() => socket.drop(1008));
    expect(signOut).toHaveBeenCalledWith("ended");
  });

  it("leaves the room view when access is lost (4403 after a welcome)", async () => {
    const socket = renderRoom();
    await join(socket);
    vi.useFakeTimers(); // from here on, time passes only when the test says so
    act(() => socket.drop(4403));
    expect(screen.getByRole("heading", { name: "You no longer have access to this room" })).toBeTruthy();
    expect(screen.queryByRole("log")).toBeNull();
    expect(screen.queryByLabelText("Message")).toBeNull();
    expect(refreshRooms).toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(LONGER_THAN_ANY_BACKOFF_MS));
    expect(FakeSocket.all).toHaveLength(1); // no reconnect, however long one waits
  });

  it("says not found (without revealing more) when refused before any welcome", async () => {
    const socket = renderRoom();
    act(() => socket.drop(4403));
    expect(screen.getByRole("heading", { name: "Room not found" })).toBeTruthy();
  });

  it("says so when the room does not exist", async () => {
    const socket = renderRoom();
    act(() => socket.drop(4404));
    expect(screen.getByRole("heading", { name: "Room not found" })).toBeTruthy();
  });

  it("shows a non-blocking notice on 4429 and waits long before reconnecting", async () => {
    const socket = renderRoom();
    await join(socket);
    vi.useFakeTimers(); // from here on, time passes only when the test says so
    act(() => socket.drop(4429));
    expect(screen.getByText(/Too many connections or messages/).textContent).toMatch(/Trying again in \d+ s/);
    expect(screen.getByLabelText("Message")).toBeTruthy();
    act(() => vi.advanceTimersByTime(LIMITED_WAIT_MS.min - 1));
    expect(FakeSocket.all).toHaveLength(1); // not even after the ordinary backoff's longest wait
    act(() => vi.advanceTimersByTime(LIMITED_WAIT_MS.max - LIMITED_WAIT_MS.min + 1));
    expect(FakeSocket.all).toHaveLength(2); // ... but it does come back
  });

  it("shows a rate_limited error frame as a notice, keeping the composer", async () => {
    const socket = renderRoom();
    await join(socket);
    act(() => socket.receive({ type: "error", code: "rate_limited", message: "Slow down." }));
    expect(screen.getByRole("alert").textContent).toMatch(/sending too fast/);
    expect((screen.getByLabelText("Message") as HTMLTextAreaElement).disabled).toBe(false);
  });

  it("gives a viewer no composer and no Stop button", async () => {
    restRoom = room({ role: "viewer" });
    const socket = renderRoom();
    await join(socket);
    await screen.findByText("You can view this room but not post.");
    expect(screen.queryByLabelText("Message")).toBeNull();
    expect(screen.queryByRole("button", { name: "Send" })).toBeNull();
    act(() => socket.receive({ type: "message", message: aiReply(2) }));
    expect(within(screen.getByRole("log")).getByText("Thinking…")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Stop" })).toBeNull();
    // Not the owner: no invites, no settings; members can be seen.
    expect(screen.queryByRole("button", { name: "Invite people" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Room settings" })).toBeNull();
    expect(screen.getByRole("button", { name: "Members" })).toBeTruthy();
  });

  it("takes the viewer role from the welcome too", async () => {
    restRoom = room({ role: null });
    const socket = renderRoom();
    act(() => {
      socket.open();
      socket.receive(welcome({ room: room({ role: "viewer" }) }));
    });
    expect(await screen.findByText("You can view this room but not post.")).toBeTruthy();
  });

  it("offers an owner invites and settings", async () => {
    restRoom = room({ role: "owner" });
    const socket = renderRoom();
    await join(socket);
    expect(await screen.findByRole("button", { name: "Invite people" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Room settings" })).toBeTruthy();
    expect(screen.getByLabelText("Message")).toBeTruthy();
  });
});
