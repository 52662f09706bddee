// The state of one open room and the pure reducer that folds server frames, REST pages and
// connection events into it. Messages are upserted by id and kept ordered by seq.

import type { AutopilotStatus, Message, OutboxItem, Room, RoomRole, ServerFrame, User } from "../api/types";
import type { ConnectionState, FatalReason } from "../realtime/socket";

/** How long a typing indicator lasts without a repeat (the server's TTL is 6 s). */
export const TYPING_TTL_MS = 6_500;

export interface TypingEntry {
  user: User;
  until: number;
}

export interface RoomState {
  room: Room | null;
  /** My role here: undefined until known, null for a non-member of an open room. */
  role: RoomRole | null | undefined;
  me: User | null;
  /** Ordered by seq, one entry per id. */
  messages: Message[];
  /** Whether older messages exist beyond the oldest held. */
  hasMore: boolean;
  /** Whether the newest page has been loaded (or resumed) at least once. */
  loaded: boolean;
  /** People seen in this room (participants, presence, authors), by id. */
  people: Record<string, User>;
  /** Ids of people online now. */
  online: Record<string, true>;
  typing: Record<string, TypingEntry>;
  outbox: OutboxItem[];
  connection: ConnectionState;
  retryInMs: number | null;
  fatal: FatalReason | null;
  /** Whether this view was ever welcomed (access lost vs. never had it). */
  welcomed: boolean;
  /** Closed for too many connections or frames (4429): the wait before the next try, in ms. */
  limited: number | null;
  /** The last error the server answered that is not about one sent message. */
  notice: string | null;
  /** What the room's autopilot is doing now. */
  autopilot: AutopilotStatus;
  /** Replies whose speech frames this view has had (they can be played again). */
  spoken: Record<string, true>;
}

/** What a `rate_limited` error frame shows: not blocking, it goes by itself. */
export const RATE_LIMITED_NOTICE = "You are sending too fast. Slow down a little; your messages will still go out.";

export const AUTOPILOT_OFF: AutopilotStatus = { state: "off", handle: null, reason: null };

export type RoomAction =
  | { type: "frame"; frame: ServerFrame; now: number }
  | { type: "page"; messages: Message[]; hasMore: boolean; mode: "older" | "newest" }
  | { type: "outbox"; items: OutboxItem[] }
  | { type: "connection"; state: ConnectionState; retryInMs: number | null }
  | { type: "fatal"; reason: FatalReason }
  | { type: "limited"; retryInMs: number }
  | { type: "room"; room: Room }
  | { type: "role"; role: RoomRole | null }
  | { type: "expireTyping"; now: number }
  | { type: "dismissNotice" };

export function initialRoomState(): RoomState {
  return {
    room: null,
    role: undefined,
    me: null,
    messages: [],
    hasMore: false,
    loaded: false,
    people: {},
    online: {},
    typing: {},
    outbox: [],
    connection: "connecting",
    retryInMs: null,
    fatal: null,
    welcomed: false,
    limited: null,
    notice: null,
    autopilot: AUTOPILOT_OFF,
    spoken: {},
  };
}

function indexOfId(messages: Message[], id: string): number {
  // Updates nearly always concern the newest messages: search from the end.
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].id === id) return i;
  return -1;
}

/** Insert or replace `message` by id, keeping the list ordered by seq. */
export function upsertMessage(messages: Message[], message: Message): Message[] {
  const at = indexOfId(messages, message.id);
  if (at >= 0 && messages[at].seq === message.seq) {
    const next = messages.slice();
    next[at] = message;
    return next;
  }
  const rest = at >= 0 ? messages.filter((_, i) => i !== at) : messages;
  let pos = rest.length;
  while (pos > 0 && rest[pos - 1].seq > message.seq) pos--;
  return [...rest.slice(0, pos), message, ...rest.slice(pos)];
}

/**
 * Merge a REST page into what is held. A page can be older than live frames (a reply that
 * streamed on while the request was in flight), so it never overwrites a held message with a
 * less advanced state: queued gives way to streaming, streaming to a finished reply or a longer
 * text; a finished one stays.
 */
export function mergePage(messages: Message[], page: Message[]): Message[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  for (const incoming of page) {
    const held = byId.get(incoming.id);
    if (!held || isNewer(incoming, held)) byId.set(incoming.id, incoming);
  }
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

/** How far a reply has got: queued, then streaming, then finished (any final status). */
function stage(m: Message): number {
  return m.status === "queued" ? 0 : m.status === "streaming" ? 1 : 2;
}

function isNewer(incoming: Message, held: Message): boolean {
  const [now, then] = [stage(incoming), stage(held)];
  if (then === 2) return false;
  if (now !== then) return now > then;
  return now === 1 && incoming.content.length > held.content.length;
}

/**
 * What held messages can stay beside a newest page that starts at `pageStart`: those at or
 * above it, and those below that run down from it without a gap (seqs are dense per room).
 * Anything cut off would leave a hole in the timeline; it reloads on scroll instead.
 */
function keepContiguous(held: Message[], pageStart: number | undefined) {
  if (pageStart === undefined) return { kept: held, cut: false };
  let expected = pageStart - 1;
  let firstKept = held.length;
  for (let i = held.length - 1; i >= 0; i--) {
    const seq = held[i].seq;
    if (seq >= pageStart) firstKept = i;
    else if (seq === expected) {
      firstKept = i;
      expected--;
    } else break;
  }
  // Walking down from the newest, everything at or above pageStart precedes the run below it.
  return { kept: held.slice(firstKept), cut: firstKept > 0 };
}

/** A room as newly told, keeping what it does not say (a broadcast has no role of mine). */
function mergeRoom(held: Room | null, incoming: Room): Room {
  if (!held || held.id !== incoming.id) return incoming;
  const merged = { ...incoming };
  if (merged.access === undefined) merged.access = held.access;
  if (merged.allow_guests === undefined) merged.allow_guests = held.allow_guests;
  if (merged.role === undefined) merged.role = held.role;
  if (merged.autopilot === undefined) merged.autopilot = held.autopilot;
  if (merged.summary === undefined) merged.summary = held.summary;
  return merged;
}

function withPeople(state: RoomState, users: User[]): Record<string, User> {
  let people = state.people;
  for (const user of users) {
    if (people[user.id]?.name !== user.name) people = { ...people, [user.id]: user };
  }
  return people;
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

function applyFrame(state: RoomState, frame: ServerFrame, now: number): RoomState {
  switch (frame.type) {
    case "welcome": {
      const online: Record<string, true> = {};
      for (const p of frame.participants) online[p.id] = true;
      online[frame.user.id] = true;
      // A room behind what is held was reset: nothing held belongs to it any more.
      const reset = !frame.resumed && frame.last_seq < highestSeq(state);
      return {
        ...state,
        messages: reset ? [] : state.messages,
        hasMore: reset ? false : state.hasMore,
        room: mergeRoom(state.room, frame.room),
        role: typeof frame.room.role === "string" ? frame.room.role : state.role,
        welcomed: true,
        limited: null,
        me: frame.user,
        people: withPeople(state, [frame.user, ...frame.participants]),
        online,
        // Typing is ephemeral and not replayed: whatever was shown may be stale now.
        typing: {},
        // A resume replays everything missed, so what is held is complete again.
        loaded: state.loaded && frame.resumed,
        notice: null,
        autopilot: frame.autopilot_status ?? AUTOPILOT_OFF,
      };
    }
    case "message": {
      const message = frame.message;
      const author = message.author;
      return {
        ...state,
        messages: upsertMessage(state.messages, message),
        people: author.kind === "human" ? withPeople(state, [{ id: author.id, name: author.name }]) : state.people,
        typing: withoutKey(state.typing, author.id),
      };
    }
    case "delta": {
      const at = indexOfId(state.messages, frame.message_id);
      if (at < 0 || state.messages[at].status !== "streaming") return state;
      const messages = state.messages.slice();
      messages[at] = { ...messages[at], content: messages[at].content + frame.text };
      return { ...state, messages };
    }
    case "typing": {
      if (frame.user.id === state.me?.id) return state;
      const typing = frame.active
        ? { ...state.typing, [frame.user.id]: { user: frame.user, until: now + TYPING_TTL_MS } }
        : withoutKey(state.typing, frame.user.id);
      return { ...state, typing, people: withPeople(state, [frame.user]) };
    }
    case "presence": {
      const online = frame.online
        ? { ...state.online, [frame.user.id]: true as const }
        : withoutKey(state.online, frame.user.id);
      return {
        ...state,
        online,
        people: withPeople(state, [frame.user]),
        typing: frame.online ? state.typing : withoutKey(state.typing, frame.user.id),
      };
    }
    case "room":
      // A broadcast: it says nothing about my role (kept from the welcome or REST).
      return {
        ...state,
        room: { ...mergeRoom(state.room, frame.room), ...(state.role !== undefined && { role: state.role }) },
      };
    case "speech":
      // Only whether a reply has speech is kept here: the audio goes to the player.
      if (!frame.audio || state.spoken[frame.message_id]) return state;
      return { ...state, spoken: { ...state.spoken, [frame.message_id]: true } };
    case "autopilot_status":
      return { ...state, autopilot: { state: frame.state, handle: frame.handle, reason: frame.reason } };
    case "error":
      // Sent too fast: the connection retries refused sends by itself; say why it is slow.
      if (frame.code === "rate_limited") return { ...state, notice: RATE_LIMITED_NOTICE };
      // Errors about a send are shown on that message (through the outbox).
      return frame.client_msg_id ? state : { ...state, notice: frame.message };
    default:
      return state;
  }
}

export function roomReducer(state: RoomState, action: RoomAction): RoomState {
  switch (action.type) {
    case "frame":
      return applyFrame(state, action.frame, action.now);
    case "page": {
      if (action.mode === "older") {
        return {
          ...state,
          messages: mergePage(state.messages, action.messages),
          hasMore: action.hasMore,
        };
      }
      const { kept, cut } = keepContiguous(state.messages, action.messages[0]?.seq);
      const humans = action.messages
        .filter((m) => m.author.kind === "human")
        .map((m) => ({ id: m.author.id, name: m.author.name }));
      return {
        ...state,
        messages: mergePage(kept, action.messages),
        hasMore: cut || state.messages.length === 0 ? action.hasMore : state.hasMore,
        loaded: true,
        people: withPeople(state, humans),
      };
    }
    case "outbox":
      return { ...state, outbox: action.items };
    case "connection":
      return { ...state, connection: action.state, retryInMs: action.retryInMs };
    case "fatal":
      return { ...state, fatal: action.reason };
    case "limited":
      return { ...state, limited: action.retryInMs };
    case "room":
      return {
        ...state,
        room: mergeRoom(state.room, action.room),
        role: typeof action.room.role === "string" ? action.room.role : state.role,
      };
    case "role":
      return { ...state, role: action.role };
    case "expireTyping": {
      let typing = state.typing;
      for (const [id, entry] of Object.entries(state.typing)) {
        if (entry.until <= action.now) typing = withoutKey(typing, id);
      }
      return typing === state.typing ? state : { ...state, typing };
    }
    case "dismissNotice":
      return { ...state, notice: null };
  }
}

/** Outbox items not yet visible as messages (the server's echo may beat the ack). */
export function pendingItems(state: RoomState): OutboxItem[] {
  if (state.outbox.length === 0) return [];
  const meId = state.me?.id;
  const echoed = new Set(
    state.messages.filter((m) => m.client_msg_id && m.author.id === meId).map((m) => m.client_msg_id as string),
  );
  return state.outbox.filter((i) => !echoed.has(i.client_msg_id));
}

/** Whether a reply has speech to play again: stored with it, or heard here. */
export function hasSpeech(state: RoomState, message: Message): boolean {
  return (message.speech?.sentences ?? 0) > 0 || state.spoken[message.id] === true;
}

/** The highest seq held. */
export function highestSeq(state: RoomState): number {
  return state.messages.length ? state.messages[state.messages.length - 1].seq : 0;
}
