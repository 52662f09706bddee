// RoomConnection: one room's WebSocket (docs/websocket-protocol.md) with hello/resume,
// reconnect with backoff and jitter, a heartbeat, and an outbox that sends every composed
// message exactly once per socket, under the client_msg_id it got when it was composed.
// No React here: the app subscribes to events, tests drive it with a fake socket.

import type { AudioFormat, AutopilotPatch, ClientFrame, OutboxItem, ServerFrame } from "../api/types";
import { newClientMsgId } from "./ids";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline";
/**
 * Why the connection gave up for good: the credential is not accepted (4401), the session was
 * ended elsewhere (1008: logged out, token revoked, account disabled), no access to the room
 * (4403: never had it, or removed), or a room that does not exist (4404, older servers).
 */
export type FatalReason = "unauthorized" | "signed_out" | "forbidden" | "not_found";

export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_ROOM_NOT_FOUND = 4404;
/** Too many connections for this account, or frames sent too fast: wait long before trying again. */
export const CLOSE_RATE_LIMITED = 4429;
const FATAL_CLOSES: Record<number, FatalReason> = {
  [CLOSE_UNAUTHENTICATED]: "unauthorized",
  [CLOSE_POLICY_VIOLATION]: "signed_out",
  [CLOSE_FORBIDDEN]: "forbidden",
  [CLOSE_ROOM_NOT_FOUND]: "not_found",
};
/** Our own close code for a socket we drop because it stopped answering or the network went. */
const CLOSE_CLIENT_RETRY = 4000;
const OPEN = 1;

/** The part of the browser's WebSocket the connection uses (a fake implements it in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type ConnectionEvent =
  | { kind: "frame"; frame: ServerFrame }
  | { kind: "state"; state: ConnectionState; retryInMs: number | null }
  | { kind: "outbox"; items: OutboxItem[] }
  | { kind: "fatal"; reason: FatalReason }
  /** Closed with 4429: the next try waits `retryInMs` (long, so no tight loop). */
  | { kind: "limited"; retryInMs: number };

export interface RoomConnectionOptions {
  roomId: string;
  /** A bearer token for `hello`; the web app leaves it out (the session cookie goes with the upgrade). */
  token?: string | null;
  /** Defaults to ws(s)://<this host>/ws/room/<roomId>. */
  url?: string;
  createSocket?: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  random?: () => number;
  newId?: () => string;
  now?: () => Date;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** The first wait after a 4429 close (doubling on each further 4429, up to maxLimitedBackoffMs). */
  limitedBackoffMs?: number;
  maxLimitedBackoffMs?: number;
  /** How long a send refused as `rate_limited` waits before it goes again. */
  rateLimitedRetryMs?: number;
  /** Whether the browser thinks it has a network; while not, the state reads "offline". */
  isOnline?: () => boolean;
  /** Ask for replies' speech in this format from the hello on (null: no speech frames). */
  audio?: AudioFormat | null;
}

/** The delay before reconnect attempt `attempt` (0-based): exponential, capped, half jittered. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: number) {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}

export function roomSocketUrl(roomId: string, location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws/room/${encodeURIComponent(roomId)}`;
}

export class RoomConnection {
  private readonly opts: Required<Omit<RoomConnectionOptions, "url" | "token" | "audio">> & {
    url: string;
    token: string | null;
  };
  /** The speech format wanted now, and what the current socket was last told. */
  private audioWanted: AudioFormat | null;
  private audioTold: AudioFormat | null = null;
  /** The last speech frame had: on resume, that reply's sentences up to it are not resent. */
  private lastSpeech: { message_id: string; index: number } | null = null;
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private socket: SocketLike | null = null;
  private welcomed = false;
  private welcomedOnce = false;
  private stopped = true;
  private attempt = 0;
  /** 4429 closes in a row (reset by a welcome). */
  private limitedAttempt = 0;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  /** Fires when the socket has been silent too long (no welcome, no pong): it is dead. */
  private deadTimer: unknown = null;
  private highestSeq = 0;
  private outboxItems: OutboxItem[] = [];
  /** client_msg_ids already written to the current socket; cleared for each new socket. */
  private sentOnSocket = new Set<string>();
  private currentState: ConnectionState = "connecting";

  constructor(options: RoomConnectionOptions) {
    this.opts = {
      url: options.url ?? roomSocketUrl(options.roomId),
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      random: Math.random,
      newId: newClientMsgId,
      now: () => new Date(),
      initialBackoffMs: 500,
      maxBackoffMs: 10_000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      limitedBackoffMs: 30_000,
      maxLimitedBackoffMs: 300_000,
      rateLimitedRetryMs: 2_000,
      isOnline: () => typeof navigator === "undefined" || navigator.onLine !== false,
      ...stripUndefined(options),
      roomId: options.roomId,
      token: options.token ?? null,
    };
    this.audioWanted = options.audio ?? null;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get outbox(): readonly OutboxItem[] {
    return this.outboxItems;
  }

  /** The highest seq held: what `hello.last_seq` resumes from. */
  get lastSeq(): number {
    return this.highestSeq;
  }

  subscribe(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Record messages held from elsewhere (a REST page), so a resume starts after them. */
  noteSeq(seq: number): void {
    if (seq > this.highestSeq) this.highestSeq = seq;
  }

  /** After a reload that replaced what is shown, resume from exactly what is now held. */
  resetSeq(seq: number): void {
    this.highestSeq = seq;
  }

  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Close for good (leaving the room). Unsent messages are dropped with the connection. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    this.dropSocket(1000, "bye");
  }

  /** Queue a message; it goes out now if connected, else as soon as a socket is welcomed. */
  send(content: string, replyTo: string | null = null): OutboxItem {
    const item: OutboxItem = {
      client_msg_id: this.opts.newId(),
      content,
      reply_to: replyTo,
      created_at: this.opts.now().toISOString(),
      error: null,
    };
    this.outboxItems = [...this.outboxItems, item];
    this.emitOutbox();
    this.flush();
    return item;
  }

  /** Try a refused message again (same client_msg_id). */
  retry(clientMsgId: string): void {
    this.updateItem(clientMsgId, { error: null });
    this.sentOnSocket.delete(clientMsgId);
    this.flush();
  }

  /** Forget a refused message. */
  discard(clientMsgId: string): void {
    this.outboxItems = this.outboxItems.filter((i) => i.client_msg_id !== clientMsgId);
    this.emitOutbox();
  }

  /** Switch the room's autopilot or change its settings; false when not connected. */
  autopilot(patch: AutopilotPatch): boolean {
    return this.write({ type: "autopilot", ...patch });
  }

  /** Tell the others we are (not) typing; dropped while not connected (it is ephemeral). */
  typing(active: boolean): boolean {
    return this.write({ type: "typing", active });
  }

  /** Ask to stop a streaming reply; false when not connected (use the REST call instead). */
  interrupt(messageId: string): boolean {
    return this.write({ type: "interrupt", message_id: messageId });
  }

  /**
   * Hear replies' speech in `format`, or none (null). Told to the server now when welcomed;
   * every later hello (reconnects) carries it.
   */
  setAudio(format: AudioFormat | null): void {
    this.audioWanted = format;
    this.tellAudio();
  }

  get audio(): AudioFormat | null {
    return this.audioWanted;
  }

  /** The browser says the network is back: retry now instead of waiting out the backoff. */
  handleOnline(): void {
    // After a 4429 the long wait stands: the server asked for it, not the network.
    if (this.stopped || this.socket || this.limitedAttempt > 0) return;
    this.cancelRetry();
    this.attempt = 0;
    this.open();
  }

  /** The browser says the network is gone: the socket is dead even if it has not noticed. */
  handleOffline(): void {
    if (this.stopped) return;
    this.dropSocket(CLOSE_CLIENT_RETRY, "offline");
    this.scheduleReconnect();
  }

  private open(): void {
    this.cancelRetry();
    this.setState(this.welcomedOnce || this.attempt > 0 ? "reconnecting" : "connecting", null);
    const socket = this.opts.createSocket(this.opts.url);
    this.socket = socket;
    this.welcomed = false;
    this.sentOnSocket = new Set();
    this.armDeadline(this.opts.pingIntervalMs);
    socket.onopen = () => {
      if (socket !== this.socket) return;
      const hello: ClientFrame = { type: "hello" };
      if (this.opts.token) hello.token = this.opts.token;
      // Nothing held: no last_seq, so the server does not replay the whole room.
      if (this.highestSeq > 0) hello.last_seq = this.highestSeq;
      if (this.audioWanted) hello.audio = this.audioWanted;
      if (this.audioWanted && this.lastSpeech) hello.last_speech = this.lastSpeech;
      this.audioTold = this.audioWanted;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.onText(event.data);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.onClose(event.code);
    };
    socket.onerror = () => {
      // A close event always follows; the reconnect is decided there.
    };
  }

  private onText(data: unknown): void {
    if (typeof data !== "string") return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return;
    if (frame.type === "welcome") {
      this.welcomed = true;
      this.welcomedOnce = true;
      this.attempt = 0;
      this.limitedAttempt = 0;
    }
    this.armHeartbeat();
    switch (frame.type) {
      case "welcome":
        this.setState("connected", null);
        this.emit({ kind: "frame", frame });
        // Switched between the hello and the welcome: say it now.
        this.tellAudio();
        this.flush();
        return;
      case "message":
        this.noteSeq(frame.message.seq);
        break;
      case "speech":
        this.lastSpeech = { message_id: frame.message_id, index: frame.index };
        break;
      case "ack":
        this.outboxItems = this.outboxItems.filter((i) => i.client_msg_id !== frame.client_msg_id);
        this.emitOutbox();
        break;
      case "error":
        if (frame.client_msg_id) this.onSendRefused(frame.client_msg_id, frame.code, frame.message);
        break;
    }
    this.emit({ kind: "frame", frame });
  }

  private onSendRefused(clientMsgId: string, code: string, message: string): void {
    if (code === "unavailable" || code === "rate_limited") {
      // Busy, or sent too fast: not a refusal of the message. Try again on this socket after a
      // pause (long enough for the server's token bucket to refill).
      this.sentOnSocket.delete(clientMsgId);
      const wait = code === "rate_limited" ? this.opts.rateLimitedRetryMs : this.opts.initialBackoffMs * 2;
      this.opts.setTimer(() => this.flush(), wait);
      return;
    }
    this.updateItem(clientMsgId, { error: message || code });
  }

  private onClose(code: number): void {
    this.socket = null;
    this.welcomed = false;
    this.clearHeartbeat();
    if (this.stopped) return;
    const fatal = FATAL_CLOSES[code];
    if (fatal) {
      this.stopped = true;
      this.clearTimers();
      this.emit({ kind: "fatal", reason: fatal });
      return;
    }
    if (code === CLOSE_RATE_LIMITED) {
      // Too many sockets or frames: a quick retry would only be refused again (and count).
      const wait = this.opts.limitedBackoffMs * 2 ** Math.min(this.limitedAttempt, 10);
      const ceiling = Math.min(this.opts.maxLimitedBackoffMs, wait);
      const delay = Math.round(ceiling + (this.opts.random() * ceiling) / 2);
      this.limitedAttempt += 1;
      this.emit({ kind: "limited", retryInMs: delay });
      this.scheduleReconnect(delay);
      return;
    }
    // 1012 (restart), 1013 (try again), 4408, 1006 (abnormal) and the rest: reconnect, resume.
    this.scheduleReconnect();
  }

  private scheduleReconnect(fixedDelay?: number): void {
    if (this.stopped || this.retryTimer !== null) return;
    const delay =
      fixedDelay ?? backoffDelay(this.attempt, this.opts.initialBackoffMs, this.opts.maxBackoffMs, this.opts.random());
    this.attempt += 1;
    this.setState(this.opts.isOnline() ? "reconnecting" : "offline", delay);
    this.retryTimer = this.opts.setTimer(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private flush(): void {
    if (!this.welcomed || !this.socket) return;
    for (const item of this.outboxItems) {
      if (item.error || this.sentOnSocket.has(item.client_msg_id)) continue;
      const frame: ClientFrame = {
        type: "send",
        content: item.content,
        client_msg_id: item.client_msg_id,
      };
      if (item.reply_to) frame.reply_to = item.reply_to;
      if (!this.write(frame)) return;
      this.sentOnSocket.add(item.client_msg_id);
    }
  }

  private tellAudio(): void {
    if (this.audioTold === this.audioWanted) return;
    if (this.write({ type: "audio", format: this.audioWanted ?? "off" })) this.audioTold = this.audioWanted;
  }

  private write(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (!socket || !this.welcomed || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Any frame proves the socket alive: ping again after a quiet interval. */
  private armHeartbeat(): void {
    this.clearHeartbeat();
    if (!this.welcomed) return;
    this.pingTimer = this.opts.setTimer(() => {
      this.pingTimer = null;
      if (this.write({ type: "ping" })) this.armDeadline(this.opts.pongTimeoutMs);
    }, this.opts.pingIntervalMs);
  }

  private armDeadline(ms: number): void {
    if (this.deadTimer !== null) this.opts.clearTimer(this.deadTimer);
    this.deadTimer = this.opts.setTimer(() => {
      this.deadTimer = null;
      this.dropSocket(CLOSE_CLIENT_RETRY, "no answer");
      this.scheduleReconnect();
    }, ms);
  }

  private clearHeartbeat(): void {
    if (this.pingTimer !== null) this.opts.clearTimer(this.pingTimer);
    if (this.deadTimer !== null) this.opts.clearTimer(this.deadTimer);
    this.pingTimer = this.deadTimer = null;
  }

  private cancelRetry(): void {
    if (this.retryTimer !== null) this.opts.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }

  private clearTimers(): void {
    this.cancelRetry();
    this.clearHeartbeat();
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    this.welcomed = false;
    this.clearHeartbeat();
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  private updateItem(clientMsgId: string, patch: Partial<OutboxItem>): void {
    this.outboxItems = this.outboxItems.map((i) => (i.client_msg_id === clientMsgId ? { ...i, ...patch } : i));
    this.emitOutbox();
  }

  private setState(state: ConnectionState, retryInMs: number | null): void {
    this.currentState = state;
    this.emit({ kind: "state", state, retryInMs });
  }

  private emitOutbox(): void {
    this.emit({ kind: "outbox", items: this.outboxItems });
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
