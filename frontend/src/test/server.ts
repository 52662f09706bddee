// A fetch stand-in that answers by "METHOD /path" and records every request.
import { vi } from "vitest";

export type Handler = (body: unknown, init: RequestInit) => Response | Promise<Response>;

export interface FakeServer {
  routes: Record<string, Handler>;
  calls: Array<{ method: string; url: string; body: unknown; headers: Record<string, string> }>;
  fetch: ReturnType<typeof vi.fn>;
  called(method: string, url: string): boolean;
}

export function json(body: unknown, status = 200): Response {
  if (status === 204) return new Response(null, { status });
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function apiError(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}

/** Install a fake server as `fetch`; unknown routes answer 404. */
export function fakeServer(routes: Record<string, Handler> = {}): FakeServer {
  const server: FakeServer = {
    routes,
    calls: [],
    fetch: vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? "GET";
      const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
      server.calls.push({ method, url, body, headers: (init.headers ?? {}) as Record<string, string> });
      const path = url.split("?")[0];
      const handler = server.routes[`${method} ${url}`] ?? server.routes[`${method} ${path}`];
      return handler ? handler(body, init) : apiError(404, "not_found", "Not found.");
    }),
    called: (method, url) => server.calls.some((c) => c.method === method && c.url === url),
  };
  vi.stubGlobal("fetch", server.fetch);
  return server;
}
