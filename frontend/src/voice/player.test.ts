// @vitest-environment node
import { beforeEach, describe, expect, it } from "vitest";
import { FakeContext, finalFrame, speech } from "../test/fakeAudio";
import { SpeechPlayer, START_CUSHION_S } from "./player";

let ctx: FakeContext;
let player: SpeechPlayer;
let created: number;

beforeEach(() => {
  ctx = new FakeContext();
  created = 0;
  player = new SpeechPlayer({
    createContext: () => {
      created += 1;
      return ctx;
    },
    setTimer: () => 0,
    clearTimer: () => {},
  });
});

/** [start time, which sentence] of what will be heard, rounded to the microsecond. */
const timeline = () =>
  ctx.audible().map((s) => [Math.round((s.startedAt ?? -1) * 1e6) / 1e6, Math.round((s.buffer?.data[0] ?? 0) * 32768)]);

describe("SpeechPlayer", () => {
  it("starts the first sentence after a small cushion, the next ones back to back", () => {
    ctx.currentTime = 10;
    player.enqueue(speech("m1", 0, 500));
    player.enqueue(speech("m1", 1, 250));
    player.enqueue(speech("m1", 2, 100));
    const start = 10 + START_CUSHION_S;
    expect(timeline()).toEqual([
      [start, 1],
      [start + 0.5, 2],
      [start + 0.75, 3],
    ]);
    expect(ctx.started.every((s) => s.connected)).toBe(true);
    expect(created).toBe(1);
  });

  it("decodes each sentence into a buffer at the frame's sample rate", () => {
    player.enqueue(speech("m1", 0, 300, { sample_rate: 22050 }));
    const buffer = ctx.started[0].buffer;
    expect(buffer?.sampleRate).toBe(22050);
    expect(buffer?.data).toHaveLength(300);
    expect(buffer?.data[0]).toBe(1 / 32768);
  });

  it("applies the cushion again only when the queue ran dry", () => {
    player.enqueue(speech("m1", 0, 200));
    const first = START_CUSHION_S;
    // Still playing: the next one follows on exactly.
    ctx.advance(0.1);
    player.enqueue(speech("m1", 1, 200));
    // Ran dry: everything ended before the next sentence came.
    ctx.advance(2);
    player.enqueue(speech("m1", 2, 200));
    expect(ctx.started.map((s) => s.startedAt)).toEqual([first, first + 0.2, 2 + START_CUSHION_S]);
  });

  it("keeps a reply's sentences in index order when they arrive out of order", () => {
    player.enqueue(speech("m1", 0, 100));
    player.enqueue(speech("m1", 2, 100));
    expect(timeline().map(([, n]) => n)).toEqual([1]);
    player.enqueue(speech("m1", 1, 100));
    expect(timeline().map(([, n]) => n)).toEqual([1, 2, 3]);
    const starts = ctx.started.map((s) => s.startedAt ?? 0);
    expect(starts[1] - starts[0]).toBeCloseTo(0.1);
    expect(starts[2] - starts[1]).toBeCloseTo(0.1);
  });

  it("plays replies one after the other: a later reply waits for the first one's final frame", () => {
    player.enqueue(speech("a", 0, 100), 5);
    player.enqueue(speech("b", 0, 100), 6);
    expect(ctx.started.map((s) => s.buffer?.data.length)).toEqual([100]);
    player.enqueue(speech("a", 1, 100), 5);
    player.enqueue(finalFrame("a", 2), 5);
    // a's two sentences, then b's, back to back.
    expect(timeline()).toEqual([
      [START_CUSHION_S, 1],
      [START_CUSHION_S + 0.1, 2],
      [START_CUSHION_S + 0.2, 1],
    ]);
  });

  it("orders waiting replies by seq, not by which frame came first; the one speaking stays", () => {
    // Lengths tell them apart: late 100 ms (seq 9, alone, so it took the floor), first 200 ms
    // (seq 7), second 300 ms (seq 8).
    player.enqueue(speech("late", 0, 100), 9);
    player.enqueue(speech("second", 0, 300), 8);
    player.enqueue(speech("first", 0, 200), 7);
    player.enqueue(finalFrame("late", 1), 9);
    player.enqueue(finalFrame("second", 1), 8);
    player.enqueue(finalFrame("first", 1), 7);
    expect(ctx.started.map((s) => s.buffer?.data.length)).toEqual([100, 200, 300]);
    expect(ctx.started.map((s) => s.startedAt)).toEqual([
      START_CUSHION_S,
      START_CUSHION_S + 0.1,
      START_CUSHION_S + 0.3,
    ]);
  });

  it("treats a final frame with audio as the reply's last sentence", () => {
    player.enqueue(speech("a", 0, 100));
    player.enqueue(speech("a", 1, 100, { final: true }));
    player.enqueue(speech("b", 0, 100));
    expect(timeline().map(([, n]) => n)).toEqual([1, 2, 1]);
  });

  it("starts a reply first heard mid-way where it is, and does not say a sentence twice", () => {
    player.enqueue(speech("a", 3, 100));
    player.enqueue(speech("a", 3, 100));
    player.enqueue(speech("a", 4, 100));
    expect(timeline().map(([, n]) => n)).toEqual([4, 5]);
  });

  it("drops an interrupted reply's queued audio, and what follows closes up", () => {
    player.enqueue(speech("a", 0, 500));
    player.enqueue(speech("a", 1, 500));
    player.enqueue(finalFrame("a", 2));
    player.enqueue(speech("b", 0, 200));
    ctx.advance(0.2);
    player.drop("a");
    // Both of a's sentences are silenced (the one playing and the queued one); b moves up.
    expect(ctx.started.slice(0, 2).every((s) => s.stopped)).toBe(true);
    expect(timeline()).toEqual([[0.2 + START_CUSHION_S, 1]]);
    // Frames of a that were already on their way are ignored.
    player.enqueue(speech("a", 3, 100));
    expect(ctx.audible()).toHaveLength(1);
  });

  it("lets the next reply take the floor when the one on it is dropped before its final frame", () => {
    player.enqueue(speech("a", 0, 100));
    player.enqueue(speech("b", 0, 100));
    expect(ctx.audible()).toHaveLength(1);
    player.drop("a");
    expect(timeline()).toEqual([[START_CUSHION_S, 1]]);
    expect(ctx.audible()[0]).toBe(ctx.started[1]);
  });

  it("drops a reply still waiting for the floor without touching the one speaking", () => {
    player.enqueue(speech("a", 0, 100));
    player.enqueue(speech("b", 0, 100));
    player.drop("b");
    player.enqueue(finalFrame("a", 1));
    expect(timeline()).toEqual([[START_CUSHION_S, 1]]);
  });

  it("stops everything when switched off, and starts afresh after", () => {
    player.enqueue(speech("a", 0, 500));
    player.enqueue(speech("a", 1, 500));
    player.enqueue(speech("b", 0, 500));
    ctx.advance(0.3);
    player.stop();
    expect(ctx.audible()).toEqual([]);
    ctx.advance(0.4);
    player.enqueue(speech("c", 0, 100));
    expect(ctx.audible()).toHaveLength(1);
    expect(ctx.audible()[0].startedAt).toBeCloseTo(0.4 + START_CUSHION_S);
  });

  it("says which reply and sentence is being spoken", () => {
    const heard: Array<string | null> = [];
    player.subscribe((s) => heard.push(s && `${s.messageId}#${s.index}`));
    player.enqueue(speech("a", 0, 100));
    player.enqueue(speech("a", 1, 100, { final: true }));
    ctx.advance(START_CUSHION_S + 0.1);
    expect(player.speaking).toMatchObject({ messageId: "a", index: 1, text: "a sentence 1." });
    ctx.advance(1);
    expect(player.speaking).toBeNull();
    expect(heard).toEqual(["a#1", null]);
  });

  it("plays a stored recording through the same context", async () => {
    const done = player.playClip(new ArrayBuffer(2000));
    await Promise.resolve();
    await Promise.resolve();
    expect(ctx.started).toHaveLength(1);
    expect(ctx.started[0].buffer?.duration).toBe(1);
    player.stopClip();
    await done;
    expect(ctx.started[0].stopped).toBe(true);
    expect(created).toBe(1);
  });
});
