import type { Message, Room, User, WelcomeFrame } from "../api/types";
import { DEFAULT_AUTOPILOT } from "../autopilot/autopilot";
import { AUTOPILOT_OFF } from "../room/state";

export const ana: User = { id: "u-ana", name: "Ana" };
export const ben: User = { id: "u-ben", name: "Ben" };

export function room(overrides: Partial<Room> = {}): Room {
  return {
    id: "r1",
    name: "General",
    created_by: ana.id,
    created_at: "2026-11-20T10:00:00.000Z",
    updated_at: "2026-11-20T10:00:00.000Z",
    last_seq: 0,
    personas: [
      {
        handle: "sage",
        name: "Sage",
        model: "gpt-4o-mini",
        system_prompt: "",
        temperature: 0.7,
        max_tokens: 512,
        talkativeness: 0.5,
        muted: false,
        voice: null,
        voice_rate: 1,
      },
    ],
    access: "invite",
    allow_guests: false,
    role: "owner",
    autopilot: DEFAULT_AUTOPILOT,
    ...overrides,
  };
}

export function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    room_id: "r1",
    seq,
    author: { id: ana.id, name: ana.name, kind: "human" },
    content: `message ${seq}`,
    reply_to: null,
    status: "complete",
    created_at: "2026-11-20T10:00:00.000Z",
    client_msg_id: null,
    ...overrides,
  };
}

export function aiReply(seq: number, overrides: Partial<Message> = {}): Message {
  return message(seq, {
    author: { id: "persona:sage", name: "Sage", kind: "ai", handle: "sage" },
    content: "",
    status: "streaming",
    model: "gpt-4o-mini",
    ...overrides,
  });
}

export function welcome(overrides: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    type: "welcome",
    room: room(),
    user: ana,
    participants: [ana],
    last_seq: 0,
    resumed: false,
    autopilot_status: AUTOPILOT_OFF,
    ...overrides,
  };
}
