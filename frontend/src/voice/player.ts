// Gapless playback of replies' speech through one Web Audio context: each sentence's PCM becomes
// an AudioBuffer started exactly where the previous one ends (source.start(nextStartTime)), so
// there is no gap between sentences or replies. Replies play one at a time, in room order (the
// server's one audio floor): a later reply's sentences wait until the one before is final.
// No React here: the app subscribes; tests drive it with a fake AudioContext.

import type { SpeechFrame } from "../api/types";
import { decodePcm } from "./pcm";

/** Lead given to the first sentence after silence, so it does not start late and clipped. */
export const START_CUSHION_S = 0.08;

/** The part of an AudioBufferSourceNode the player uses. */
export interface SourceLike {
  buffer: AudioBufferLike | null;
  onended: (() => void) | null;
  connect(destination: unknown): unknown;
  start(when: number): void;
  stop(): void;
}

export interface AudioBufferLike {
  readonly duration: number;
  getChannelData(channel: number): Float32Array;
}

/** The part of the browser's AudioContext the player uses (a fake implements it in tests). */
export interface AudioContextLike {
  readonly currentTime: number;
  readonly state: string;
  readonly destination: unknown;
  resume(): Promise<void>;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBufferLike;
  createBufferSource(): SourceLike;
  decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike>;
}

/** What is being said now: a reply and the index of its sentence. */
export interface Speaking {
  messageId: string;
  index: number;
  text: string;
}

interface Scheduled {
  messageId: string;
  index: number;
  text: string;
  buffer: AudioBufferLike;
  source: SourceLike;
  start: number;
  end: number;
}

interface Reply {
  /** Room order (seq) when known; replies without one go after those with one. */
  order: number;
  arrival: number;
  /** The next sentence index to play. */
  next: number;
  /** The index of the final frame, once it came. */
  finalIndex: number | null;
  waiting: Map<number, SpeechFrame>;
}

export interface SpeechPlayerOptions {
  createContext?: () => AudioContextLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class SpeechPlayer {
  private readonly createContext: () => AudioContextLike;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private ctx: AudioContextLike | null = null;
  /** Replies not finished yet, the one on the floor first. */
  private queue: string[] = [];
  private replies = new Map<string, Reply>();
  /** Replies whose speech is over (final seen) or dropped: later frames for them are ignored. */
  private done = new Set<string>();
  private scheduled: Scheduled[] = [];
  private timers = new Set<unknown>();
  private nextStartTime = 0;
  private arrivals = 0;
  private current: Speaking | null = null;
  private clip: SourceLike | null = null;
  private readonly listeners = new Set<(speaking: Speaking | null) => void>();

  constructor(options: SpeechPlayerOptions = {}) {
    this.createContext = options.createContext ?? (() => new AudioContext() as unknown as AudioContextLike);
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** The one AudioContext, made on first use; resumed (call this from a click: autoplay rules). */
  context(): AudioContextLike {
    if (!this.ctx) this.ctx = this.createContext();
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    return this.ctx;
  }

  get speaking(): Speaking | null {
    return this.current;
  }

  /** Hear which sentence is being said (null: silence). */
  subscribe(listener: (speaking: Speaking | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A speech frame arrived; `order` is its reply's seq when known. */
  enqueue(frame: SpeechFrame, order?: number): void {
    const id = frame.message_id;
    if (this.done.has(id)) return;
    let reply = this.replies.get(id);
    if (!reply) {
      // A reply first heard mid-way (sound switched on while it spoke) starts where it is.
      reply = {
        order: order ?? Number.MAX_SAFE_INTEGER,
        arrival: this.arrivals++,
        next: frame.index,
        finalIndex: null,
        waiting: new Map(),
      };
      this.replies.set(id, reply);
      this.insert(id, reply);
    }
    if (frame.final) reply.finalIndex = frame.index;
    // An index already played (a repeat after a reconnect) is not said twice.
    if (frame.index >= reply.next) reply.waiting.set(frame.index, frame);
    this.pump();
  }

  /** A reply was stopped (`interrupted`): what of it is queued or playing goes; the rest close up. */
  drop(messageId: string): void {
    this.done.add(messageId);
    if (this.replies.delete(messageId)) this.queue = this.queue.filter((id) => id !== messageId);
    if (!this.scheduled.some((s) => s.messageId === messageId)) {
      this.pump();
      return;
    }
    const now = this.ctx?.currentTime ?? 0;
    const kept: Scheduled[] = [];
    const later: Scheduled[] = [];
    for (const s of this.scheduled) {
      if (s.messageId === messageId) silence(s.source);
      else if (s.start > now) later.push(s);
      else kept.push(s);
    }
    this.scheduled = kept;
    this.nextStartTime = kept.reduce((end, s) => Math.max(end, s.end), 0);
    // What was to follow the dropped reply moves up to close the gap it leaves.
    for (const s of later) {
      silence(s.source);
      this.schedule(s.messageId, s.index, s.text, s.buffer);
    }
    this.pump();
    this.refresh();
  }

  /** Sound off: stop everything now and forget what was queued. */
  stop(): void {
    for (const s of this.scheduled) silence(s.source);
    for (const timer of this.timers) this.clearTimer(timer);
    this.timers.clear();
    this.scheduled = [];
    this.queue = [];
    this.replies.clear();
    this.nextStartTime = 0;
    this.stopClip();
    this.refresh();
  }

  /** Play a whole stored recording (WAV) now; resolves when it ends or is stopped. */
  async playClip(data: ArrayBuffer): Promise<void> {
    const ctx = this.context();
    const buffer = await ctx.decodeAudioData(data);
    this.stopClip();
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    this.clip = source;
    await new Promise<void>((resolve) => {
      source.onended = () => {
        if (this.clip === source) this.clip = null;
        resolve();
      };
      source.start(ctx.currentTime + START_CUSHION_S);
    });
  }

  stopClip(): void {
    const clip = this.clip;
    this.clip = null;
    if (clip) {
      const ended = clip.onended;
      silence(clip);
      ended?.();
    }
  }

  /** Keep replies in room order, never ahead of the one already on the floor. */
  private insert(id: string, reply: Reply): void {
    const before = (other: Reply) =>
      other.order < reply.order || (other.order === reply.order && other.arrival < reply.arrival);
    const floor = this.queue.length > 0 && this.started(this.queue[0]) ? 1 : 0;
    let at = this.queue.length;
    while (at > floor) {
      const other = this.replies.get(this.queue[at - 1]);
      if (!other || before(other)) break;
      at--;
    }
    this.queue.splice(at, 0, id);
  }

  private started(messageId: string): boolean {
    return this.scheduled.some((s) => s.messageId === messageId);
  }

  /** Schedule what the reply on the floor has in order; move on when it is final. */
  private pump(): void {
    while (this.queue.length) {
      const id = this.queue[0];
      const reply = this.replies.get(id);
      if (!reply) return;
      for (let frame = reply.waiting.get(reply.next); frame; frame = reply.waiting.get(reply.next)) {
        reply.waiting.delete(reply.next);
        reply.next += 1;
        this.play(id, frame);
      }
      if (reply.finalIndex === null || reply.next <= reply.finalIndex) return;
      this.queue.shift();
      this.replies.delete(id);
      this.done.add(id);
    }
  }

  private play(messageId: string, frame: SpeechFrame): void {
    // Only PCM is decoded here (the app asks for it); an empty final frame has nothing to say.
    if (frame.format !== "pcm" || !frame.audio) return;
    const samples = decodePcm(frame.audio);
    if (!samples.length) return;
    const buffer = this.context().createBuffer(1, samples.length, frame.sample_rate);
    buffer.getChannelData(0).set(samples);
    this.schedule(messageId, frame.index, frame.text, buffer);
  }

  private schedule(messageId: string, index: number, text: string, buffer: AudioBufferLike): void {
    const ctx = this.context();
    const now = ctx.currentTime;
    // Nothing playing (the queue ran dry, or never started): start a little ahead of now.
    if (this.nextStartTime <= now) this.nextStartTime = now + START_CUSHION_S;
    const start = this.nextStartTime;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const entry: Scheduled = { messageId, index, text, buffer, source, start, end: start + buffer.duration };
    source.onended = () => {
      this.scheduled = this.scheduled.filter((s) => s !== entry);
      this.refresh();
    };
    source.start(start);
    this.nextStartTime = entry.end;
    this.scheduled.push(entry);
    const timer = this.setTimer(
      () => {
        this.timers.delete(timer);
        this.refresh();
      },
      Math.max(0, (start - now) * 1000),
    );
    this.timers.add(timer);
  }

  /** Work out what is being said now and tell the listeners if it changed. */
  private refresh(): void {
    const now = this.ctx?.currentTime ?? 0;
    const on = this.scheduled.find((s) => s.start <= now + 0.01 && now < s.end) ?? null;
    const next: Speaking | null = on && { messageId: on.messageId, index: on.index, text: on.text };
    if (next?.messageId === this.current?.messageId && next?.index === this.current?.index) return;
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }
}

function silence(source: SourceLike): void {
  source.onended = null;
  try {
    source.stop();
  } catch {
    // Never started, or already stopped.
  }
}
