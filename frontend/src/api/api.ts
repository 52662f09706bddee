// The REST client (docs/rest-api.md). Same origin, relative URLs. The web app authenticates
// with the httpOnly `chimera_session` cookie: no token is ever held by the page. Every write
// carries the `chimera_csrf` cookie's value in `X-CSRF-Token` (double submit).
import type {
  ApiToken,
  AuthResult,
  Invite,
  InviteRole,
  Me,
  Member,
  Message,
  MessagePage,
  ModelInfo,
  NewApiToken,
  NewInvite,
  PersonaInput,
  Room,
  RoomAccess,
  RoomRole,
  RoomSettingsPatch,
  Voice,
} from "./types";

export const CSRF_COOKIE = "chimera_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** An error answered by the API, in its one shape `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before trying again (a 429's `Retry-After`), when the server said. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** A cookie readable by script (not the httpOnly session), or null. */
export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    if (part.slice(0, at).trim() !== name) continue;
    const value = part.slice(at + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return null;
}

async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (UNSAFE.has(method)) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (response.status === 204) return undefined as T;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error;
    if (response.status === 403 && error?.code === "csrf_failed" && !retried && path !== "/api/me") {
      // The CSRF cookie went missing (cleared, expired): GET /api/me hands out a new one.
      const renewed = await fetch("/api/me", { credentials: "same-origin", headers: { accept: "application/json" } })
        .then((r) => r.ok)
        .catch(() => false);
      if (renewed) return request<T>(method, path, body, true);
    }
    throw apiError(response, data);
  }
  return data as T;
}

function apiError(response: Response, data: { error?: { code?: unknown; message?: unknown } } | null): ApiError {
  const error = data?.error;
  const retry = Number(response.headers?.get?.("retry-after"));
  return new ApiError(
    response.status,
    typeof error?.code === "string" ? error.code : "http_error",
    typeof error?.message === "string" ? error.message : `Request failed (${response.status}).`,
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

/** A request answered with audio (WAV): its bytes, or the API's error. */
async function requestAudio(method: string, path: string, body?: unknown): Promise<ArrayBuffer> {
  const headers: Record<string, string> = { accept: "audio/wav, application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (UNSAFE.has(method)) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  if (!response.ok) throw apiError(response, await response.json().catch(() => null));
  return response.arrayBuffer();
}

const room = (id: string) => `/api/rooms/${encodeURIComponent(id)}`;

/** Create an account; the server answers with the session cookie set. */
export function register(username: string, password: string, name?: string): Promise<AuthResult> {
  const body: Record<string, string> = { username, password };
  if (name) body.name = name;
  return request<AuthResult>("POST", "/api/auth/register", body);
}

export function login(username: string, password: string): Promise<AuthResult> {
  return request<AuthResult>("POST", "/api/auth/login", { username, password });
}

/** Start a guest session under a display name (403 where the server admits no guests). */
export function continueAsGuest(name: string): Promise<AuthResult> {
  return request<AuthResult>("POST", "/api/session", { name });
}

/** End this browser's session (the server clears the cookies). */
export function logout(): Promise<void> {
  return request<void>("POST", "/api/auth/logout");
}

/** Who the session cookie belongs to; null when there is no valid session. */
export async function currentUser(): Promise<Me | null> {
  try {
    return await request<Me>("GET", "/api/me");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit?: number;
}

export interface NewRoomOptions {
  access?: RoomAccess;
  allow_guests?: boolean;
}

export interface InviteOptions {
  role?: InviteRole;
  max_uses?: number;
  expires_in_hours?: number;
}

/** The API calls of a signed-in session (the cookie authenticates them). */
export class Api {
  async listRooms(): Promise<Room[]> {
    return (await request<{ rooms: Room[] }>("GET", "/api/rooms")).rooms;
  }

  getRoom(id: string): Promise<Room> {
    return request<Room>("GET", room(id));
  }

  createRoom(name: string, personas: PersonaInput[], options: NewRoomOptions = {}): Promise<Room> {
    return request<Room>("POST", "/api/rooms", { name, personas, ...options });
  }

  /** PATCH a room: `autopilot` alone is open to members who may send; other fields are owner-only. */
  updateRoom(id: string, patch: RoomSettingsPatch): Promise<Room> {
    return request<Room>("PATCH", room(id), patch);
  }

  messages(roomId: string, query: PageQuery = {}): Promise<MessagePage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.size ? `?${params}` : "";
    return request<MessagePage>("GET", `${room(roomId)}/messages${qs}`);
  }

  interrupt(roomId: string, messageId: string): Promise<Message> {
    return request<Message>("POST", `${room(roomId)}/messages/${encodeURIComponent(messageId)}/interrupt`);
  }

  /** Post a summary of the room (decisions, action items) as a system message. */
  summarize(roomId: string): Promise<Message> {
    return request<Message>("POST", `${room(roomId)}/summary`);
  }

  async models(): Promise<ModelInfo[]> {
    return (await request<{ models: ModelInfo[] }>("GET", "/api/models")).models;
  }

  /** The TTS node's voices, available or not (with the reason). */
  async voices(): Promise<Voice[]> {
    return (await request<{ voices: Voice[] }>("GET", "/api/voices")).voices;
  }

  /** A short text said by a voice (WAV), to preview it. */
  previewSpeech(voice: string, text: string, rate?: number): Promise<ArrayBuffer> {
    return requestAudio("POST", "/api/speech", rate === undefined ? { voice, text } : { voice, text, rate });
  }

  /** A reply's whole stored speech (WAV); 404 when it has none. */
  speech(roomId: string, messageId: string): Promise<ArrayBuffer> {
    return requestAudio("GET", `${room(roomId)}/messages/${encodeURIComponent(messageId)}/speech?format=wav`);
  }

  async members(roomId: string): Promise<Member[]> {
    return (await request<{ members: Member[] }>("GET", `${room(roomId)}/members`)).members;
  }

  setRole(roomId: string, userId: string, role: RoomRole): Promise<Member> {
    return request<Member>("PATCH", `${room(roomId)}/members/${encodeURIComponent(userId)}`, { role });
  }

  /** Remove a member (the owner), or leave (yourself). */
  removeMember(roomId: string, userId: string): Promise<void> {
    return request<void>("DELETE", `${room(roomId)}/members/${encodeURIComponent(userId)}`);
  }

  createInvite(roomId: string, options: InviteOptions = {}): Promise<NewInvite> {
    return request<NewInvite>("POST", `${room(roomId)}/invites`, options);
  }

  async invites(roomId: string): Promise<Invite[]> {
    return (await request<{ invites: Invite[] }>("GET", `${room(roomId)}/invites`)).invites;
  }

  revokeInvite(roomId: string, inviteId: string): Promise<void> {
    return request<void>("DELETE", `${room(roomId)}/invites/${encodeURIComponent(inviteId)}`);
  }

  acceptInvite(token: string): Promise<Room> {
    return request<Room>("POST", `/api/invites/${encodeURIComponent(token)}/accept`);
  }

  async tokens(): Promise<ApiToken[]> {
    return (await request<{ tokens: ApiToken[] }>("GET", "/api/tokens")).tokens;
  }

  createToken(name: string, expiresInDays?: number): Promise<NewApiToken> {
    const body: { name: string; expires_in_days?: number } = { name };
    if (expiresInDays !== undefined) body.expires_in_days = expiresInDays;
    return request<NewApiToken>("POST", "/api/tokens", body);
  }

  revokeToken(id: string): Promise<void> {
    return request<void>("DELETE", `/api/tokens/${encodeURIComponent(id)}`);
  }
}
