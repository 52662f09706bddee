// Shapes of the REST API and WebSocket frames (docs/rest-api.md, docs/websocket-protocol.md).

export interface User {
  id: string;
  name: string;
}

/** Who is signed in (GET /api/me): a registered account or a guest. */
export interface Me extends User {
  username: string | null;
  kind: "user" | "guest";
  admin: boolean;
}

/** What register, login and guest sign-in answer (the cookie carries the session). */
export interface AuthResult {
  user: Me;
  token: string;
}

export type RoomAccess = "invite" | "open";
export type RoomRole = "owner" | "member" | "viewer";

export interface Persona {
  handle: string;
  name: string;
  model: string;
  system_prompt: string;
  temperature: number;
  max_tokens: number;
  /** 0..1: its weight when autopilot draws the next speaker. */
  talkativeness?: number;
  /** Takes no autopilot turns (a person's @mention still gets an answer). */
  muted?: boolean;
}

/** What PATCH/POST accept for a persona: everything but handle and model is optional. */
export type PersonaInput = Pick<Persona, "handle" | "model"> & Partial<Omit<Persona, "handle" | "model">>;

export interface Room {
  id: string;
  name: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_seq: number;
  personas: Persona[];
  /** "invite": members only; "open": any signed-in account may join. */
  access?: RoomAccess;
  allow_guests?: boolean;
  /** The caller's role; null for a non-member of an open room. */
  role?: RoomRole | null;
  autopilot?: Autopilot;
  summary?: Summary | null;
}

export interface RoomSettingsPatch {
  name?: string;
  personas?: PersonaInput[];
  access?: RoomAccess;
  allow_guests?: boolean;
  autopilot?: AutopilotPatch;
}

export interface Member {
  user: User;
  role: RoomRole;
  joined_at: string;
  guest: boolean;
}

export type InviteRole = "member" | "viewer";

export interface Invite {
  id: string;
  role: InviteRole;
  max_uses: number | null;
  uses: number;
  expires_at: string | null;
  created_at: string;
}

/** A new invite: the only time its token and URL are shown. */
export interface NewInvite extends Invite {
  token: string;
  url: string;
}

export interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** A new API token: the only time its secret is shown. */
export interface NewApiToken extends Omit<ApiToken, "last_used_at"> {
  token: string;
}

export type AutopilotStrategy = "natural" | "round_robin" | "manual";

/** A room's autopilot: its settings and the state of its run (docs/rest-api.md). */
export interface Autopilot {
  enabled: boolean;
  strategy: AutopilotStrategy;
  max_turns: number;
  token_budget: number;
  idle_timeout_s: number;
  summary_model: string | null;
  turns: number;
  tokens_used: number;
  stopped_reason: string | null;
}

/** What may be changed; fields left out stay as they are. */
export type AutopilotPatch = Partial<
  Pick<Autopilot, "enabled" | "strategy" | "max_turns" | "token_budget" | "idle_timeout_s">
> & { summary_model?: string };

/** What the autopilot is doing right now (not stored). */
export interface AutopilotStatus {
  state: "off" | "waiting" | "held" | "thinking" | "speaking";
  handle: string | null;
  reason: string | null;
}

/** The rolling summary of a room's older messages. */
export interface Summary {
  text: string;
  upto_seq: number;
  updated_at: string;
}

export type AuthorKind = "human" | "ai" | "system";
export type MessageStatus = "queued" | "streaming" | "complete" | "interrupted" | "error";

export interface Author {
  id: string;
  name: string;
  kind: AuthorKind;
  handle?: string | null;
}

export interface Message {
  id: string;
  room_id: string;
  seq: number;
  author: Author;
  content: string;
  reply_to: string | null;
  status: MessageStatus;
  created_at: string;
  client_msg_id: string | null;
  model?: string | null;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  timing?: { time_to_first_token_ms: number; total_ms: number } | null;
  error?: string | null;
  /** While queued: its place in the room's line of replies (1 = next). */
  queue_position?: number | null;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export interface ModelInfo {
  id: string;
  backend: string;
  model: string;
  available: boolean;
  reason: string | null;
  context_window: number;
}

export interface WelcomeFrame {
  type: "welcome";
  room: Room;
  user: User;
  participants: User[];
  last_seq: number;
  resumed: boolean;
  autopilot_status?: AutopilotStatus;
}

export type ServerFrame =
  | WelcomeFrame
  | { type: "message"; message: Message }
  | { type: "delta"; message_id: string; text: string }
  | { type: "ack"; client_msg_id: string; message_id: string; seq: number; duplicate: boolean }
  | { type: "typing"; user: User; active: boolean }
  | { type: "presence"; user: User; online: boolean }
  | { type: "room"; room: Room }
  | ({ type: "autopilot_status" } & AutopilotStatus)
  | { type: "pong" }
  | { type: "error"; code: string; message: string; client_msg_id?: string | null };

export type ClientFrame =
  | { type: "hello"; token?: string; last_seq?: number }
  | { type: "send"; content: string; client_msg_id: string; reply_to?: string }
  | { type: "typing"; active: boolean }
  | { type: "ping" }
  | { type: "interrupt"; message_id: string }
  | ({ type: "autopilot" } & AutopilotPatch);

/** A message the user composed that the server has not acknowledged yet. */
export interface OutboxItem {
  client_msg_id: string;
  content: string;
  reply_to: string | null;
  created_at: string;
  /** Set when the server refused it (an `error` frame naming its client_msg_id). */
  error: string | null;
}
