// A Web Audio stand-in: records what the player schedules and lets a test move time on.
import type { SpeechFrame } from "../api/types";
import type { AudioBufferLike, AudioContextLike, SourceLike } from "../voice/player";

export class FakeBuffer implements AudioBufferLike {
  readonly data: Float32Array;
  constructor(
    length: number,
    readonly sampleRate: number,
  ) {
    this.data = new Float32Array(length);
  }
  get duration() {
    return this.data.length / this.sampleRate;
  }
  getChannelData() {
    return this.data;
  }
}

export class FakeSource implements SourceLike {
  buffer: FakeBuffer | null = null;
  onended: (() => void) | null = null;
  startedAt: number | null = null;
  stopped = false;
  connected = false;
  constructor(private readonly ctx: FakeContext) {}
  connect() {
    this.connected = true;
  }
  start(when: number) {
    this.startedAt = when;
    this.ctx.started.push(this);
  }
  stop() {
    this.stopped = true;
  }
}

export class FakeContext implements AudioContextLike {
  currentTime = 0;
  state = "running";
  destination = {};
  started: FakeSource[] = [];
  async resume() {
    this.state = "running";
  }
  createBuffer(_channels: number, length: number, sampleRate: number) {
    return new FakeBuffer(length, sampleRate);
  }
  createBufferSource() {
    return new FakeSource(this);
  }
  async decodeAudioData(data: ArrayBuffer) {
    return new FakeBuffer(data.byteLength / 2, 1000);
  }
  /** Sources that are still to be heard (started and not stopped), in start order. */
  audible() {
    return this.started.filter((s) => !s.stopped);
  }
  /** Let time pass: sources that finish by then end, as the browser would tell. */
  advance(to: number) {
    this.currentTime = to;
    for (const s of this.started) {
      if (!s.stopped && s.startedAt !== null && s.buffer && s.startedAt + s.buffer.duration <= to) {
        s.stopped = true;
        s.onended?.();
      }
    }
  }
}

export const RATE = 1000;

/** A sentence of `ms` milliseconds of PCM at 1 kHz, whose samples all read `tag` / 32768. */
export function speech(message_id: string, index: number, ms: number, extra: Partial<SpeechFrame> = {}): SpeechFrame {
  const samples = (ms * RATE) / 1000;
  const bytes = new Uint8Array(samples * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples; i++) view.setInt16(i * 2, index + 1, true);
  return {
    type: "speech",
    message_id,
    index,
    text: `${message_id} sentence ${index}.`,
    format: "pcm",
    sample_rate: RATE,
    audio: btoa(String.fromCharCode(...bytes)),
    final: false,
    ...extra,
  };
}

export const finalFrame = (message_id: string, index: number) =>
  speech(message_id, index, 0, { final: true, audio: "" });
