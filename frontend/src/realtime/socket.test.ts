// @vitest-environment node
import { beforeEach, describe, expect, it } from "vitest";
import { FakeSocket } from "../test/fakeSocket";
import { message, welcome } from "../test/fixtures";
import { backoffDelay, type ConnectionEvent, RoomConnection } from "./socket";

/** Timers the test fires by hand, so nothing depends on wall-clock time. */
class ManualTimers {
  private next = 1;
  pending = new Map<number, { fn: () => void; ms: number }>();
  set = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  };
  clear = (id: unknown) => void this.pending.delete(id as number);
  /** Fire every timer due within `ms` (the earliest first), as if that much time passed. */
  fire(ms = Infinity) {
    const due = [...this.pending.entries()].filter(([, t]) => t.ms <= ms).sort((a, b) => a[1].ms - b[1].ms);
    for (const [id, t] of due) {
      this.pending.delete(id);
      t.fn();
    }
  }
  delays() {
    return [...this.pending.values()].map((t) => t.ms);
  }
}

let timers: ManualTimers;
let events: ConnectionEvent[];
let ids: number;

function connection(online = true, token: string | null = "tok") {
  const conn = new RoomConnection({
    roomId: "r1",
    token,
    url: "ws://test/ws/room/r1",
    createSocket: (url) => new FakeSocket(url),
    setTimer: timers.set,
    clearTimer: timers.clear,
    random: () => 0.5,
    newId: () => `c${++ids}`,
    isOnline: () => online,
  });
  conn.subscribe((e) => events.push(e));
  return conn;
}

/** Open the latest socket and welcome it; returns it. */
function welcomeLatest(resumed = false) {
  const socket = FakeSocket.latest();
  socket.open();
  socket.receive(welcome({ resumed }));
  return socket;
}

beforeEach(() => {
  FakeSocket.all = [];
  timers = new ManualTimers();
  events = [];
  ids = 0;
});

describe("RoomConnection", () => {
  it("says hello with the token and no last_seq when it holds nothing", () => {
    connection().connect();
    FakeSocket.latest().open();
    expect(FakeSocket.latest().sent).toEqual([{ type: "hello", token: "tok" }]);
  });

  it("resumes from the highest seq held, counting REST pages", () => {
    const conn = connection();
    conn.connect();
    const first = welcomeLatest();
    first.receive({ type: "message", message: message(7) });
    first.receive({ type: "message", message: message(5) });
    conn.noteSeq(3);
    first.drop(1012);
    timers.fire();
    FakeSocket.latest().open();
    expect(FakeSocket.latest().sent[0]).toEqual({ type: "hello", token: "tok", last_seq: 7 });
  });

  it("does not count an ack's seq as held (its message may not have arrived)", () => {
    const conn = connection();
    conn.connect();
    const socket = welcomeLatest();
    conn.send("hi");
    socket.receive({ type: "ack", client_msg_id: "c1", message_id: "m9", seq: 9, duplicate: false });
    expect(conn.lastSeq).toBe(0);
  });

  it("queues a message composed while offline and sends it once on reconnect, same id", () => {
    const conn = connection();
    conn.connect();
    const first = welcomeLatest();
    first.drop(1006);
    expect(conn.state).toBe("reconnecting");

    const item = conn.send("written offline");
    expect(item.client_msg_id).toBe("c1");
    expect(conn.outbox).toHaveLength(1);
    expect(first.framesOf("send")).toEqual([]);

    timers.fire();
    const second = FakeSocket.latest();
    second.open();
    expect(second.framesOf("send")).toEqual([]); // not before welcome
    second.receive(welcome({ resumed: true }));
    expect(second.framesOf("send")).toEqual([{ type: "send", content: "written offline", client_msg_id: "c1" }]);

    second.receive(welcome({ resumed: true })); // nothing re-sent on the same socket
    conn.typing(true);
    expect(second.framesOf("send")).toHaveLength(1);

    second.receive({ type: "ack", client_msg_id: "c1", message_id: "m1", seq: 1, duplicate: false });
    expect(conn.outbox).toEqual([]);
    expect(events.filter((e) => e.kind === "outbox").at(-1)).toEqual({ kind: "outbox", items: [] });
  });

  it("re-sends an unacknowledged message after a drop under the same client_msg_id", () => {
    const conn = connection();
    conn.connect();
    const first = welcomeLatest();
    conn.send("are you there?", "m3");
    expect(first.framesOf("send")).toEqual([
      { type: "send", content: "are you there?", client_msg_id: "c1", reply_to: "m3" },
    ]);
    first.drop(1013);
    timers.fire();
    const second = welcomeLatest(true);
    expect(second.framesOf("send")).toEqual(first.framesOf("send"));
    second.receive({ type: "ack", client_msg_id: "c1", message_id: "m4", seq: 4, duplicate: true });
    timers.fire();
    expect(conn.outbox).toEqual([]);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("marks a refused message failed and does not retry it until asked", () => {
    const conn = connection();
    conn.connect();
    const socket = welcomeLatest();
    conn.send("x".repeat(5));
    socket.receive({ type: "error", code: "invalid_argument", message: "Too long.", client_msg_id: "c1" });
    expect(conn.outbox[0].error).toBe("Too long.");
    socket.drop();
    timers.fire();
    const next = welcomeLatest(true);
    expect(next.framesOf("send")).toEqual([]);
    conn.retry("c1");
    expect(next.framesOf("send")).toHaveLength(1);
    expect(next.framesOf("send")[0].client_msg_id).toBe("c1");
  });

  it("says hello without a token when it has none (the session cookie authenticates)", () => {
    connection(true, null).connect();
    FakeSocket.latest().open();
    expect(FakeSocket.latest().sent).toEqual([{ type: "hello" }]);
  });

  it.each([
    [4401, "unauthorized"],
    [1008, "signed_out"],
    [4403, "forbidden"],
    [4404, "not_found"],
  ] as const)("gives up for good on close %i (%s), without reconnecting", (code, reason) => {
    const conn = connection();
    conn.connect();
    const socket = welcomeLatest();
    conn.send("lost with the room");
    socket.drop(code);
    expect(events.filter((e) => e.kind === "fatal")).toEqual([{ kind: "fatal", reason }]);
    timers.fire();
    conn.handleOnline();
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("waits long after 4429 (too many connections or frames), longer each time, no tight loop", () => {
    const conn = connection();
    conn.connect();
    welcomeLatest().drop(4429);
    const limited = events.filter((e) => e.kind === "limited");
    expect(limited).toEqual([{ kind: "limited", retryInMs: 37_500 }]);
    expect(timers.delays()).toEqual([37_500]);
    expect(conn.state).toBe("reconnecting");
    conn.handleOnline(); // the network coming back does not cut the wait short
    expect(FakeSocket.all).toHaveLength(1);
    timers.fire();
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.latest().drop(4429);
    expect(timers.delays()).toEqual([75_000]);
    timers.fire();
    // Welcomed again: the next 4429 starts from the first wait again.
    welcomeLatest();
    FakeSocket.latest().drop(4429);
    expect(timers.delays()).toEqual([37_500]);
  });

  it("sends a message refused as rate_limited again after a pause, on the same socket", () => {
    const conn = connection();
    conn.connect();
    const socket = welcomeLatest();
    conn.send("hurry");
    socket.receive({ type: "error", code: "rate_limited", message: "Too many messages.", client_msg_id: "c1" });
    expect(conn.outbox[0].error).toBeNull();
    expect(timers.delays()).toContain(2_000);
    timers.fire(2_000);
    expect(socket.framesOf("send").map((f) => f.client_msg_id)).toEqual(["c1", "c1"]);
  });

  it("reconnects with growing, capped, jittered delays and resets after a welcome", () => {
    const conn = connection();
    conn.connect();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      FakeSocket.latest().drop(1006);
      delays.push(...timers.delays());
      timers.fire();
    }
    expect(delays).toEqual([375, 750, 1500, 3000, 6000, 7500, 7500, 7500]);
    welcomeLatest();
    expect(conn.state).toBe("connected");
    FakeSocket.latest().drop(1012);
    expect(timers.delays()).toEqual([375]);
  });

  it("reads offline while the browser has no network, and retries at once when it returns", () => {
    const conn = connection(false);
    conn.connect();
    welcomeLatest();
    conn.handleOffline();
    expect(conn.state).toBe("offline");
    expect(FakeSocket.all[0].closedWith).toBe(4000);
    conn.handleOnline();
    expect(FakeSocket.all).toHaveLength(2);
    expect(timers.delays()).not.toContain(375);
  });

  it("pings when quiet and reconnects when the ping goes unanswered", () => {
    connection().connect();
    const socket = welcomeLatest();
    timers.fire(25_000);
    expect(socket.framesOf("ping")).toHaveLength(1);
    timers.fire(10_000);
    expect(socket.closedWith).toBe(4000);
    timers.fire();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("sends typing and interrupt only while connected", () => {
    const conn = connection();
    conn.connect();
    expect(conn.interrupt("m1")).toBe(false);
    const socket = welcomeLatest();
    expect(conn.interrupt("m1")).toBe(true);
    expect(conn.typing(true)).toBe(true);
    expect(socket.sent.slice(1)).toEqual([
      { type: "interrupt", message_id: "m1" },
      { type: "typing", active: true },
    ]);
  });

  it("closes for good on close(): no reconnect", () => {
    const conn = connection();
    conn.connect();
    welcomeLatest();
    conn.close();
    timers.fire();
    expect(FakeSocket.all).toHaveLength(1);
    expect(FakeSocket.all[0].closedWith).toBe(1000);
  });

  it("ignores frames that are not JSON objects", () => {
    connection().connect();
    const socket = welcomeLatest();
    socket.onmessage?.({ data: "not json" });
    socket.onmessage?.({ data: "42" });
    expect(events.filter((e) => e.kind === "frame")).toHaveLength(1);
  });
});

describe("RoomConnection audio", () => {
  it("asks for speech in every hello once switched on, and says so at once when welcomed", () => {
    const conn = connection();
    conn.connect();
    const first = welcomeLatest();
    expect(first.sent[0]).toEqual({ type: "hello", token: "tok" });
    conn.setAudio("pcm");
    expect(first.framesOf("audio")).toEqual([{ type: "audio", format: "pcm" }]);
    first.drop(1012);
    timers.fire();
    const second = welcomeLatest();
    expect(second.sent[0]).toEqual({ type: "hello", token: "tok", audio: "pcm" });
    // The hello said it: no audio frame on top.
    expect(second.framesOf("audio")).toEqual([]);
  });

  it("switches speech off with an audio frame, and later hellos ask for none", () => {
    const conn = new RoomConnection({
      roomId: "r1",
      url: "ws://test/ws/room/r1",
      createSocket: (url) => new FakeSocket(url),
      setTimer: timers.set,
      clearTimer: timers.clear,
      audio: "pcm",
    });
    conn.connect();
    const first = welcomeLatest();
    expect(first.sent[0]).toEqual({ type: "hello", audio: "pcm" });
    conn.setAudio(null);
    expect(first.framesOf("audio")).toEqual([{ type: "audio", format: "off" }]);
    first.drop(1006);
    timers.fire();
    expect(welcomeLatest().sent[0]).toEqual({ type: "hello" });
  });

  it("tells a switch made between the hello and the welcome once welcomed", () => {
    const conn = connection();
    conn.connect();
    const socket = FakeSocket.latest();
    socket.open();
    conn.setAudio("pcm");
    expect(socket.framesOf("audio")).toEqual([]);
    socket.receive(welcome());
    expect(socket.framesOf("audio")).toEqual([{ type: "audio", format: "pcm" }]);
  });

  it("passes speech frames on to its listeners", () => {
    connection().connect();
    const socket = welcomeLatest();
    const speech = {
      type: "speech",
      message_id: "m2",
      index: 0,
      text: "Hi.",
      format: "pcm",
      sample_rate: 22050,
      audio: "AAA=",
      final: false,
    };
    socket.receive(speech);
    expect(events.filter((e) => e.kind === "frame").at(-1)).toEqual({ kind: "frame", frame: speech });
  });

  it("resumes speech after the last sentence it had, so none is sent twice", () => {
    const conn = connection();
    conn.connect();
    conn.setAudio("opus");
    const first = welcomeLatest();
    for (const index of [0, 1]) {
      first.receive({
        type: "speech",
        message_id: "m2",
        index,
        text: "Hi.",
        format: "opus",
        sample_rate: 48000,
        audio: "",
        final: false,
      });
    }
    first.drop(1006);
    timers.fire();
    expect(welcomeLatest().sent[0]).toEqual({
      type: "hello",
      token: "tok",
      audio: "opus",
      last_speech: { message_id: "m2", index: 1 },
    });
  });
});

describe("backoffDelay", () => {
  it("stays within half to all of the capped exponential", () => {
    expect(backoffDelay(0, 500, 15_000, 0)).toBe(250);
    expect(backoffDelay(0, 500, 15_000, 1)).toBe(500);
    expect(backoffDelay(10, 500, 15_000, 1)).toBe(15_000);
    expect(backoffDelay(10, 500, 15_000, 0)).toBe(7_500);
  });
});
