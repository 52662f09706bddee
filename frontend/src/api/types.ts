// The web app's names for the REST API's and the WebSocket's shapes (docs/rest-api.md,
// docs/websocket-protocol.md). Every wire shape is generated from the gateway's models into
// schema.gen.ts (scripts/gen_web_types.py); only what the schema cannot say is written here.
import type * as S from "./schema.gen";

export type User = S.UserOut;
/** Who is signed in (GET /api/me): a registered account or a guest. */
export type Me = S.MeOut;
/** What register, login and guest sign-in answer (the cookie carries the session). */
export type AuthResult = S.SessionOut;

export type RoomAccess = S.RoomOut["access"];
export type RoomRole = S.MemberOut["role"];

export type Persona = S.PersonaOut;
/** What PATCH/POST accept for a persona: everything but handle and model is optional. */
export type PersonaInput = S.PersonaIn;
export type Room = S.RoomOut;
export type RoomSettingsPatch = S.RoomPatch;
export type Member = S.MemberOut;

export type InviteRole = NonNullable<S.InviteIn["role"]>;
export type Invite = S.InviteOut;
/** A new invite: the only time its token and URL are shown. */
export type NewInvite = S.NewInviteOut;

export type ApiToken = S.TokenOut;
/** A new API token: the only time its secret is shown. */
export type NewApiToken = S.NewTokenOut;

export type AutopilotStrategy = S.AutopilotOut["strategy"];
/** A room's autopilot: its settings and the state of its run. */
export type Autopilot = S.AutopilotOut;
/** What may be changed; fields left out stay as they are. */
export type AutopilotPatch = S.AutopilotIn;
/** What the autopilot is doing right now (not stored). */
export type AutopilotStatus = S.AutopilotStatus;
/** The rolling summary of a room's older messages. */
export type Summary = S.SummaryOut;

export type AuthorKind = S.AuthorOut["kind"];
export type MessageStatus = S.MessageOut["status"];
export type Author = S.AuthorOut;
export type Message = S.MessageOut & { speech?: MessageSpeech | null };
export type MessagePage = S.MessagePage;
export type ModelInfo = S.ModelOut;

export type WelcomeFrame = S.WelcomeFrame;

// Speech (issue 13; docs/voices.md). Written by hand until the gateway's models for them land
// and scripts/gen_web_types.py generates them: then these become aliases like the others.

/** How a socket asks to hear speech: 16-bit little-endian mono PCM, or Ogg Opus. */
export type AudioFormat = "pcm" | "opus";

/** A voice of the TTS node's registry (GET /api/voices). */
export interface Voice {
  id: string;
  backend: string;
  name: string;
  language: string | null;
  available: boolean;
  reason: string | null;
  sample_rate: number;
  speakers?: string[] | null;
}

/** What a reply's stored speech holds (on messages of a persona with a voice; may be absent). */
export interface MessageSpeech {
  voice: string;
  sentences: number;
  final: boolean;
  error?: string | null;
  sample_rate: number;
}

/** One sentence of a reply's speech, to the sockets that asked for audio. */
export interface SpeechFrame {
  type: "speech";
  message_id: string;
  /** The reply's sentences count from 0. */
  index: number;
  text: string;
  format: AudioFormat;
  sample_rate: number;
  /** Base64 of the sentence's audio; may be empty on the final frame. */
  audio: string;
  /** The reply's last speech frame. */
  final: boolean;
  /** Why speech failed, on a final frame. */
  error?: string | null;
}

/** Ask for speech frames in a format, or for none ("off"). */
export interface AudioFrame {
  type: "audio";
  format: AudioFormat | "off";
}

export type ServerFrame = S.ServerFrame | SpeechFrame;
export type ClientFrame = Exclude<S.ClientFrame, S.HelloFrame> | (S.HelloFrame & { audio?: AudioFormat }) | AudioFrame;

/**
 * A message the user composed that the server has not acknowledged yet. Written by hand: it is
 * the web app's own state (kept across reloads), never on the wire.
 */
export interface OutboxItem {
  client_msg_id: string;
  content: string;
  reply_to: string | null;
  created_at: string;
  /** Set when the server refused it (an `error` frame naming its client_msg_id). */
  error: string | null;
}
