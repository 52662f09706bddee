// The REST client (docs/rest-api.md). Same origin, relative URLs.
import type {
  AutopilotPatch,
  Message,
  MessagePage,
  ModelInfo,
  PersonaInput,
  Room,
  Session,
} from "./types";

/** An error answered by the API, in its one shape `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function request<T>(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "Cannot reach the server.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error;
    throw new ApiError(
      response.status,
      typeof error?.code === "string" ? error.code : "http_error",
      typeof error?.message === "string" ? error.message : `Request failed (${response.status}).`,
    );
  }
  return data as T;
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit?: number;
}

/** Start a session under a display name; no token needed. */
export function createSession(name: string): Promise<Session> {
  return request<Session>("POST", "/api/session", null, { name });
}

/** The API calls that need the session's token. */
export class Api {
  constructor(private readonly token: string) {}

  async listRooms(): Promise<Room[]> {
    return (await request<{ rooms: Room[] }>("GET", "/api/rooms", this.token)).rooms;
  }

  getRoom(id: string): Promise<Room> {
    return request<Room>("GET", `/api/rooms/${encodeURIComponent(id)}`, this.token);
  }

  createRoom(name: string, personas: PersonaInput[]): Promise<Room> {
    return request<Room>("POST", "/api/rooms", this.token, { name, personas });
  }

  updateRoom(
    id: string,
    patch: { name?: string; personas?: PersonaInput[]; autopilot?: AutopilotPatch },
  ): Promise<Room> {
    return request<Room>("PATCH", `/api/rooms/${encodeURIComponent(id)}`, this.token, patch);
  }

  messages(roomId: string, query: PageQuery = {}): Promise<MessagePage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.size ? `?${params}` : "";
    return request<MessagePage>(
      "GET",
      `/api/rooms/${encodeURIComponent(roomId)}/messages${qs}`,
      this.token,
    );
  }

  interrupt(roomId: string, messageId: string): Promise<Message> {
    return request<Message>(
      "POST",
      `/api/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}/interrupt`,
      this.token,
    );
  }

  /** Post a summary of the room (decisions, action items) as a system message. */
  summarize(roomId: string): Promise<Message> {
    return request<Message>("POST", `/api/rooms/${encodeURIComponent(roomId)}/summary`, this.token);
  }

  async models(): Promise<ModelInfo[]> {
    return (await request<{ models: ModelInfo[] }>("GET", "/api/models", this.token)).models;
  }
}
