// Chimera's REST API (docs/rest-api.md), for arranging what a spec needs and checking the server's record.
import { expect, type APIRequestContext } from '@playwright/test';
import { MODEL_ID } from '../harness/stack';

export interface Message {
  id: string;
  seq: number;
  content: string;
  status: 'complete' | 'streaming' | 'interrupted' | 'error';
  author: { id: string; name: string; kind: 'human' | 'ai' | 'system'; handle?: string };
  client_msg_id: string | null;
}

export interface Room {
  id: string;
  name: string;
  access?: 'invite' | 'open';
  allow_guests?: boolean;
  role?: 'owner' | 'member' | 'viewer' | null;
}

export interface RoomOptions {
  /** Default "open" with guests allowed: anyone may join, as every room could before issue 5. */
  access?: 'invite' | 'open';
  allow_guests?: boolean;
}

export interface Persona {
  handle: string;
  name?: string;
  model?: string;
  system_prompt?: string;
  max_tokens?: number;
  /** A voice id from GET /api/voices: its replies are spoken. */
  voice?: string;
}

export class Api {
  constructor(
    private readonly request: APIRequestContext,
    readonly baseURL: string,
  ) {}

  /** A new guest named `name`; returns its (bearer) session token. */
  async session(name: string): Promise<string> {
    const response = await this.request.post(`${this.baseURL}/api/session`, { data: { name } });
    expect(response.status(), await response.text()).toBe(201);
    return (await response.json()).token;
  }

  /** A room owned by `token`'s user: open to anyone signed in, guests included, unless told. */
  async createRoom(token: string, name: string, personas: Persona[] = [], options: RoomOptions = {}): Promise<Room> {
    const response = await this.request.post(`${this.baseURL}/api/rooms`, {
      data: { name, personas: personas.map(withModel), access: 'open', allow_guests: true, ...options },
      headers: auth(token),
    });
    expect(response.status(), await response.text()).toBe(201);
    return response.json();
  }

  /** The room named `name` (names are unique per spec run). */
  async roomNamed(token: string, name: string): Promise<Room> {
    const response = await this.request.get(`${this.baseURL}/api/rooms`, { headers: auth(token) });
    expect(response.ok(), await response.text()).toBe(true);
    const rooms: Room[] = (await response.json()).rooms.filter((room: Room) => room.name === name);
    expect(rooms, `rooms named ${name}`).toHaveLength(1);
    return rooms[0];
  }

  async setPersonas(token: string, roomId: string, personas: Persona[]): Promise<void> {
    const response = await this.request.patch(`${this.baseURL}/api/rooms/${roomId}`, {
      data: { personas: personas.map(withModel) },
      headers: auth(token),
    });
    expect(response.ok(), await response.text()).toBe(true);
  }

  /** Post as a well-behaved client: past the room's post limit (429), wait the Retry-After it
   * names and post again, so seeding a long history stays within the limit. */
  async post(token: string, roomId: string, content: string): Promise<Message> {
    for (;;) {
      const response = await this.request.post(`${this.baseURL}/api/rooms/${roomId}/messages`, {
        data: { content },
        headers: auth(token),
      });
      const retryAfter = Number(response.headers()['retry-after']);
      if (response.status() === 429 && retryAfter > 0) {
        await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
        continue;
      }
      expect(response.status(), await response.text()).toBe(201);
      return response.json();
    }
  }

  /** Stop a streaming AI reply, as any member may. */
  async interrupt(token: string, roomId: string, messageId: string): Promise<void> {
    const response = await this.request.post(
      `${this.baseURL}/api/rooms/${roomId}/messages/${messageId}/interrupt`,
      { headers: auth(token) },
    );
    expect(response.ok(), await response.text()).toBe(true);
  }

  /** Every message of the room, oldest first (paged with `after`). */
  async messages(token: string, roomId: string): Promise<Message[]> {
    const all: Message[] = [];
    for (let after = 0; ; ) {
      const response = await this.request.get(
        `${this.baseURL}/api/rooms/${roomId}/messages?after=${after}&limit=200`,
        { headers: auth(token) },
      );
      expect(response.ok(), await response.text()).toBe(true);
      const page: { messages: Message[]; has_more: boolean } = await response.json();
      all.push(...page.messages);
      if (!page.has_more || page.messages.length === 0) return all;
      after = page.messages[page.messages.length - 1].seq;
    }
  }
}

/** What the fake model server saw (harness/model_server.py, GET /_stats). */
export interface ModelStats {
  requests: number;
  streams_completed: number;
  disconnects: number;
  open_streams: number;
  tokens_sent: number;
}

export async function modelStats(request: APIRequestContext, modelURL: string): Promise<ModelStats> {
  const response = await request.get(`${modelURL}/_stats`);
  expect(response.ok()).toBe(true);
  return response.json();
}

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function withModel(persona: Persona): Persona {
  return { model: MODEL_ID, ...persona };
}

/**
 * Who a bearer token belongs to, asked without any cookie (a fresh request, not the shared jar):
 * the status and, when 200, the account.
 */
export async function whoAmI(baseURL: string, token: string): Promise<{ status: number; username?: string | null }> {
  const response = await fetch(`${baseURL}/api/me`, { headers: auth(token) });
  const body = response.ok ? await response.json() : null;
  return { status: response.status, username: body?.username };
}
