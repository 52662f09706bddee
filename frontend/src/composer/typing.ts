// When to tell the room we are typing: at most one `active: true` per interval while
// keystrokes continue, and `active: false` once on send, blur or a pause.

export const TYPING_REPEAT_MS = 3_000;
export const TYPING_IDLE_MS = 4_000;

export class TypingSignal {
  private active = false;
  private lastSent = -Infinity;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (active: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user typed; `empty` when the box is now empty (which counts as stopping). */
  input(empty: boolean): void {
    if (empty) {
      this.stop();
      return;
    }
    const now = this.now();
    if (!this.active || now - this.lastSent >= TYPING_REPEAT_MS) {
      this.send(true);
      this.active = true;
      this.lastSent = now;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  stop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.active) return;
    this.active = false;
    this.send(false);
  }
}
