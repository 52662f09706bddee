// @vitest-environment node
import { describe, expect, it } from "vitest";
import type { ServerFrame } from "../api/types";
import { DEFAULT_AUTOPILOT } from "../autopilot/autopilot";
import { aiReply, ana, ben, message, room, welcome } from "../test/fixtures";
import {
  AUTOPILOT_OFF,
  highestSeq,
  initialRoomState,
  mergePage,
  pendingItems,
  RATE_LIMITED_NOTICE,
  type RoomAction,
  type RoomState,
  roomReducer,
  upsertMessage,
} from "./state";

const frame = (f: ServerFrame, now = 0): RoomAction => ({ type: "frame", frame: f, now });
const run = (...actions: RoomAction[]): RoomState => actions.reduce(roomReducer, initialRoomState());
const seqs = (s: RoomState) => s.messages.map((m) => m.seq);

describe("upsertMessage", () => {
  it("keeps messages ordered by seq whatever order they arrive in", () => {
    let list = upsertMessage([], message(3));
    list = upsertMessage(list, message(1));
    list = upsertMessage(list, message(2));
    expect(list.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it("replaces a message with the same id instead of adding it twice", () => {
    let list = upsertMessage([message(1), message(2)], message(2, { content: "edited" }));
    list = upsertMessage(list, message(2, { content: "again" }));
    expect(list).toHaveLength(2);
    expect(list[1].content).toBe("again");
  });
});

describe("roomReducer", () => {
  it("appends delta text to a streaming reply and stops once it is final", () => {
    let s = run(frame(welcome()), frame({ type: "message", message: aiReply(5) }));
    s = roomReducer(s, frame({ type: "delta", message_id: "m5", text: "Hel" }));
    s = roomReducer(s, frame({ type: "delta", message_id: "m5", text: "lo" }));
    expect(s.messages[0].content).toBe("Hello");

    s = roomReducer(s, frame({ type: "message", message: aiReply(5, { content: "Hello!", status: "complete" }) }));
    s = roomReducer(s, frame({ type: "delta", message_id: "m5", text: " late" }));
    expect(s.messages[0]).toMatchObject({ content: "Hello!", status: "complete" });
  });

  it("ignores a delta for a message it does not hold", () => {
    const s = run(frame(welcome()), frame({ type: "delta", message_id: "nope", text: "x" }));
    expect(s.messages).toEqual([]);
  });

  it("shows an interrupted or failed reply with its reason", () => {
    const s = run(
      frame({ type: "message", message: aiReply(2) }),
      frame({ type: "message", message: aiReply(2, { status: "error", error: "model unavailable" }) }),
    );
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]).toMatchObject({ status: "error", error: "model unavailable" });
  });

  it("tracks who is online from welcome and presence", () => {
    let s = run(frame(welcome({ participants: [ana, ben] })));
    expect(Object.keys(s.online).sort()).toEqual([ana.id, ben.id]);
    s = roomReducer(s, frame({ type: "presence", user: ben, online: false }));
    expect(s.online).toEqual({ [ana.id]: true });
    expect(s.people[ben.id]).toEqual(ben);
  });

  it("shows typing until it stops, expires, or the typist's message arrives", () => {
    let s = run(frame(welcome()), frame({ type: "typing", user: ben, active: true }, 1000));
    expect(Object.keys(s.typing)).toEqual([ben.id]);
    s = roomReducer(s, { type: "expireTyping", now: 2000 });
    expect(Object.keys(s.typing)).toEqual([ben.id]);
    s = roomReducer(s, { type: "expireTyping", now: 60_000 });
    expect(s.typing).toEqual({});

    s = roomReducer(s, frame({ type: "typing", user: ben, active: true }, 70_000));
    s = roomReducer(s, frame({ type: "message", message: message(1, { author: { ...ben, kind: "human" } }) }));
    expect(s.typing).toEqual({});
  });

  it("ignores typing frames about the user themself", () => {
    const s = run(frame(welcome()), frame({ type: "typing", user: ana, active: true }));
    expect(s.typing).toEqual({});
  });

  it("prepends older pages in order and records whether more exist", () => {
    let s = run(frame(welcome()), {
      type: "page",
      mode: "newest",
      messages: [message(51), message(52)],
      hasMore: true,
    });
    expect(s.hasMore).toBe(true);
    s = roomReducer(s, { type: "page", mode: "older", messages: [message(49), message(50)], hasMore: false });
    expect(seqs(s)).toEqual([49, 50, 51, 52]);
    expect(s.hasMore).toBe(false);
  });

  it("merges the newest page with live messages that arrived first, without doubles", () => {
    const s = run(frame(welcome()), frame({ type: "message", message: message(3) }), {
      type: "page",
      mode: "newest",
      messages: [message(1), message(2), message(3)],
      hasMore: false,
    });
    expect(seqs(s)).toEqual([1, 2, 3]);
    expect(s.loaded).toBe(true);
  });

  it("drops what a newest page cannot connect to, rather than showing a hole", () => {
    let s = run({ type: "page", mode: "newest", messages: [message(1), message(2)], hasMore: false });
    s = roomReducer(s, frame(welcome({ resumed: false, last_seq: 3000 })));
    expect(s.loaded).toBe(false);
    s = roomReducer(s, frame({ type: "message", message: message(3001) }));
    s = roomReducer(s, { type: "page", mode: "newest", messages: [message(2999), message(3000)], hasMore: true });
    expect(seqs(s)).toEqual([2999, 3000, 3001]);
    expect(s.hasMore).toBe(true);
  });

  it("forgets what it held when the room is behind it (reset)", () => {
    let s = run({ type: "page", mode: "newest", messages: [message(7)], hasMore: false });
    s = roomReducer(s, frame(welcome({ resumed: false, last_seq: 2 })));
    expect(s.messages).toEqual([]);
  });

  it("keeps a newer streaming state when an older REST copy arrives", () => {
    const live = aiReply(4, { content: "Hello wor" });
    expect(mergePage([live], [aiReply(4, { content: "Hel" })])[0].content).toBe("Hello wor");
    expect(mergePage([live], [aiReply(4, { content: "Hello world", status: "complete" })])[0].status).toBe("complete");
    const done = aiReply(4, { content: "Hi", status: "complete" });
    expect(mergePage([done], [aiReply(4, { content: "H" })])[0]).toBe(done);
  });

  it("never lets an older queued copy undo a reply that started, but lets a start replace it", () => {
    const queued = aiReply(4, { content: "", status: "queued", queue_position: 1 });
    const live = aiReply(4, { content: "Hel" });
    expect(mergePage([live], [queued])[0]).toBe(live);
    expect(mergePage([queued], [live])[0]).toBe(live);
    const done = aiReply(4, { content: "Hi", status: "complete" });
    expect(mergePage([done], [queued])[0]).toBe(done);
  });

  it("applies a room rename", () => {
    const s = run(frame(welcome()), frame({ type: "room", room: { ...welcome().room, name: "Renamed" } }));
    expect(s.room?.name).toBe("Renamed");
  });

  it("hides an outbox item once its message is held, even before the ack", () => {
    let s = run(frame(welcome()), {
      type: "outbox",
      items: [{ client_msg_id: "c1", content: "hi", reply_to: null, created_at: "", error: null }],
    });
    expect(pendingItems(s)).toHaveLength(1);
    s = roomReducer(s, frame({ type: "message", message: message(1, { client_msg_id: "c1" }) }));
    expect(pendingItems(s)).toHaveLength(0);
    expect(highestSeq(s)).toBe(1);
  });

  it("keeps my role from REST or the welcome; a broadcast room frame does not change it", () => {
    let s = run({ type: "room", room: room({ role: "viewer", access: "invite", allow_guests: false }) });
    expect(s.role).toBe("viewer");
    s = roomReducer(s, frame(welcome({ room: room({ role: undefined }) })));
    expect(s.role).toBe("viewer");
    expect(s.room?.access).toBe("invite");
    expect(s.welcomed).toBe(true);
    s = roomReducer(s, frame({ type: "room", room: room({ name: "Renamed", role: "owner" }) }));
    expect(s.role).toBe("viewer");
    expect(s.room).toMatchObject({ name: "Renamed", role: "viewer", access: "invite" });
    s = roomReducer(s, frame(welcome({ room: room({ role: "member" }) })));
    expect(s.role).toBe("member");
  });

  it("shows rate limiting as a notice (also for a send, which the connection retries)", () => {
    let s = run(frame(welcome()), frame({ type: "error", code: "rate_limited", message: "x", client_msg_id: "c1" }));
    expect(s.notice).toBe(RATE_LIMITED_NOTICE);
    s = roomReducer(s, { type: "dismissNotice" });
    s = roomReducer(s, frame({ type: "error", code: "permission_denied", message: "Viewers cannot send messages." }));
    expect(s.notice).toBe("Viewers cannot send messages.");
  });

  it("remembers a 4429 wait until the next welcome", () => {
    let s = run(frame(welcome()), { type: "limited", retryInMs: 30_000 });
    expect(s.limited).toBe(30_000);
    s = roomReducer(s, frame(welcome({ resumed: true })));
    expect(s.limited).toBeNull();
  });

  it("follows the autopilot's status; a room broadcast changes its settings, not my role", () => {
    const autopilot = { ...DEFAULT_AUTOPILOT, enabled: true, turns: 3 };
    let s = run({ type: "room", room: room({ role: "member" }) }, frame(welcome({ room: room({ role: undefined }) })));
    expect(s.autopilot).toEqual(AUTOPILOT_OFF);
    s = roomReducer(s, frame({ type: "autopilot_status", state: "thinking", handle: "sage", reason: null }));
    expect(s.autopilot).toEqual({ state: "thinking", handle: "sage", reason: null });
    s = roomReducer(s, frame({ type: "room", room: room({ autopilot, role: "owner" }) }));
    expect(s.role).toBe("member");
    expect(s.room?.autopilot).toEqual(autopilot);
    // A view without the autopilot (an older server) keeps what is held.
    s = roomReducer(s, frame({ type: "room", room: room({ name: "Renamed", autopilot: undefined }) }));
    expect(s.room).toMatchObject({ name: "Renamed", autopilot });
    s = roomReducer(s, frame(welcome({ autopilot_status: { state: "waiting", handle: null, reason: "replies" } })));
    expect(s.autopilot.state).toBe("waiting");
  });
});
