import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from "vitest";
import { Api, ApiError, continueAsGuest, currentUser, login, logout, readCookie, register } from "./api";

type FetchArgs = [string, RequestInit];
let fetchMock: Mock<(...args: FetchArgs) => Promise<Response>>;

function json(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function clearCookies() {
  for (const part of document.cookie.split(";")) {
    const name = part.split("=")[0].trim();
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`;
  }
}

beforeEach(() => {
  clearCookies();
  document.cookie = "chimera_csrf=csrf-123; path=/";
  fetchMock = vi.fn(async () => json({ rooms: [] }));
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
  clearCookies();
});

function lastCall(): { url: string; init: RequestInit; headers: Record<string, string> } {
  const [url, init] = fetchMock.mock.calls.at(-1)!;
  return { url, init, headers: init.headers as Record<string, string> };
}

describe("the REST client", () => {
  it("sends the CSRF cookie's value on every write, with the cookie and no bearer token", async () => {
    const api = new Api();
    fetchMock.mockImplementation(async () => json({ id: "r1" }, 201));
    const writes: Array<[string, () => Promise<unknown>]> = [
      ["POST", () => api.createRoom("General", [], { access: "invite", allow_guests: false })],
      ["PATCH", () => api.updateRoom("r1", { access: "open" })],
      ["POST", () => api.createInvite("r1", { max_uses: 2 })],
      ["POST", () => api.acceptInvite("tok/en")],
      ["PATCH", () => api.setRole("r1", "u2", "viewer")],
      ["POST", () => api.createToken("laptop", 30)],
      ["POST", () => api.interrupt("r1", "m1")],
      ["PATCH", () => api.updateRoom("r1", { autopilot: { enabled: true } })],
      ["POST", () => api.summarize("r1")],
      ["POST", () => login("ana", "secret-password")],
      ["POST", () => register("ana", "secret-password")],
      ["POST", () => continueAsGuest("Ana")],
    ];
    for (const [method, call] of writes) {
      await call();
      const { init, headers } = lastCall();
      expect(init.method).toBe(method);
      expect(headers["X-CSRF-Token"]).toBe("csrf-123");
      expect(init.credentials).toBe("same-origin");
      expect(headers.authorization).toBeUndefined();
    }
    fetchMock.mockImplementation(async () => new Response(null, { status: 204 }));
    for (const call of [
      () => api.revokeToken("t1"),
      () => api.removeMember("r1", "u2"),
      () => api.revokeInvite("r1", "i1"),
      logout,
    ]) {
      await call();
      expect(lastCall().init.method).toMatch(/DELETE|POST/);
      expect(lastCall().headers["X-CSRF-Token"]).toBe("csrf-123");
    }
  });

  it("sends no CSRF header on reads, but the cookie still goes", async () => {
    await new Api().listRooms();
    const { url, init, headers } = lastCall();
    expect(url).toBe("/api/rooms");
    expect(init.method).toBe("GET");
    expect(init.credentials).toBe("same-origin");
    expect(headers["X-CSRF-Token"]).toBeUndefined();
  });

  it("picks up a CSRF cookie renewed after sign-in", async () => {
    const api = new Api();
    document.cookie = "chimera_csrf=renewed; path=/";
    await api.createRoom("x", []);
    expect(lastCall().headers["X-CSRF-Token"]).toBe("renewed");
  });

  it("builds the routes of the contract", async () => {
    const api = new Api();
    fetchMock.mockImplementation(async () => json({ members: [], invites: [], tokens: [] }));
    await api.members("r 1");
    expect(lastCall().url).toBe("/api/rooms/r%201/members");
    await api.invites("r1");
    expect(lastCall().url).toBe("/api/rooms/r1/invites");
    await api.tokens();
    expect(lastCall().url).toBe("/api/tokens");
    fetchMock.mockImplementation(async () => json({ id: "r1" }));
    await api.acceptInvite("a/b");
    expect(lastCall().url).toBe("/api/invites/a%2Fb/accept");
    await api.createToken("ci");
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ name: "ci" });
    await api.createToken("ci", 7);
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ name: "ci", expires_in_days: 7 });
  });

  it("restores the user from /api/me, and reads a 401 as signed out", async () => {
    fetchMock.mockImplementation(async () =>
      json({ id: "u1", name: "Ana", username: "ana", kind: "user", admin: false }),
    );
    expect(await currentUser()).toMatchObject({ id: "u1", username: "ana" });
    expect(lastCall().url).toBe("/api/me");
    fetchMock.mockImplementation(async () => json({ error: { code: "unauthenticated", message: "No." } }, 401));
    expect(await currentUser()).toBeNull();
    fetchMock.mockImplementation(async () => json({ error: { code: "internal", message: "Down." } }, 503));
    await expect(currentUser()).rejects.toBeInstanceOf(ApiError);
  });

  it("carries the error's code, message and Retry-After", async () => {
    fetchMock.mockImplementation(async () =>
      json({ error: { code: "rate_limited", message: "Too many attempts." } }, 429, { "retry-after": "30" }),
    );
    const error = await login("ana", "wrong-password").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: "rate_limited", message: "Too many attempts.", retryAfter: 30 });
  });
});

describe("readCookie", () => {
  it("finds a cookie by name among others", () => {
    expect(readCookie("chimera_csrf", "a=1; chimera_csrf=x%2Fy; b=2")).toBe("x/y");
    expect(readCookie("chimera_csrf", "a=1")).toBeNull();
    expect(readCookie("csrf", "chimera_csrf=1")).toBeNull();
  });
});

describe("a missing CSRF cookie", () => {
  it("is renewed through GET /api/me and the write tried once more", async () => {
    let writes = 0;
    fetchMock.mockImplementation(async (url: string) => {
      if (url === "/api/me") {
        document.cookie = "chimera_csrf=fresh; path=/";
        return json({ id: "u1" });
      }
      writes += 1;
      return writes === 1
        ? json({ error: { code: "csrf_failed", message: "Missing CSRF token." } }, 403)
        : json({ id: "r1" }, 201);
    });
    clearCookies();
    await expect(new Api().createRoom("x", [])).resolves.toEqual({ id: "r1" });
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual(["/api/rooms", "/api/me", "/api/rooms"]);
    expect((fetchMock.mock.calls[2][1].headers as Record<string, string>)["X-CSRF-Token"]).toBe("fresh");
  });

  it("is not retried forever", async () => {
    fetchMock.mockImplementation(async (url: string) =>
      url === "/api/me" ? json({ id: "u1" }) : json({ error: { code: "csrf_failed", message: "No." } }, 403),
    );
    await expect(new Api().createRoom("x", [])).rejects.toMatchObject({ status: 403, code: "csrf_failed" });
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });
});
