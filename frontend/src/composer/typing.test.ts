// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TYPING_IDLE_MS, TYPING_REPEAT_MS, TypingSignal } from "./typing";

describe("TypingSignal", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends active once per interval while typing, then inactive after a pause", () => {
    const sent: boolean[] = [];
    const signal = new TypingSignal(
      (a) => sent.push(a),
      () => Date.now(),
    );
    signal.input(false);
    signal.input(false);
    expect(sent).toEqual([true]);
    vi.advanceTimersByTime(TYPING_REPEAT_MS);
    signal.input(false);
    expect(sent).toEqual([true, true]);
    vi.advanceTimersByTime(TYPING_IDLE_MS);
    expect(sent).toEqual([true, true, false]);
  });

  it("stops on send or blur exactly once, and not at all if never started", () => {
    const sent: boolean[] = [];
    const signal = new TypingSignal((a) => sent.push(a));
    signal.stop();
    expect(sent).toEqual([]);
    signal.input(false);
    signal.stop();
    signal.stop();
    expect(sent).toEqual([true, false]);
  });
});
