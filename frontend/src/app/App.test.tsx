import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Me } from "../api/types";
import { FakeSocket } from "../test/fakeSocket";
import { room, welcome } from "../test/fixtures";
import { apiError, type FakeServer, fakeServer, json } from "../test/server";
import { App } from "./App";

const userEvent = userEventLib.setup({ delay: null });

const ana: Me = { id: "u-ana", name: "Ana", username: "ana", kind: "user", admin: false };
let server: FakeServer;

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  localStorage.clear();
  window.location.hash = "";
  server = fakeServer({
    "GET /api/me": () => apiError(401, "unauthenticated", "Invalid or expired credentials."),
    "GET /api/rooms": () => json({ rooms: [] }),
    "GET /api/models": () => json({ models: [] }),
    "POST /api/auth/logout": () => json(null, 204),
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  window.location.hash = "";
});

function signedIn(user: Me = ana) {
  server.routes["GET /api/me"] = () => json(user);
}

async function signInWithPassword(username = "ana", password = "correct horse") {
  await userEvent.type(await screen.findByLabelText("Username"), username);
  await userEvent.type(screen.getByLabelText("Password"), password);
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("App: signing in and out", () => {
  it("restores the session from the cookie (GET /api/me) without any stored token", async () => {
    localStorage.setItem("chimera.session", JSON.stringify({ token: "old-bearer", user: { id: "x" } }));
    signedIn();
    render(<App />);
    expect(await screen.findByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(screen.getByText("@ana")).toBeTruthy();
    // The bearer token an older version stored is gone, and none is stored now.
    expect(localStorage.getItem("chimera.session")).toBeNull();
    expect(JSON.stringify({ ...localStorage })).not.toMatch(/token/i);
    expect(server.calls.every((c) => !("authorization" in c.headers))).toBe(true);
  });

  it("signs in with a username and password", async () => {
    server.routes["POST /api/auth/login"] = (body) => {
      expect(body).toEqual({ username: "ana", password: "correct horse" });
      return json({ user: ana, token: "session-secret" });
    };
    render(<App />);
    expect(await screen.findByRole("tab", { name: "Sign in", selected: true })).toBeTruthy();
    await signInWithPassword();
    expect(await screen.findByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(JSON.stringify({ ...localStorage })).not.toContain("session-secret");
  });

  it("says so, generically, when the password is wrong; and how long to wait when limited", async () => {
    server.routes["POST /api/auth/login"] = () => apiError(401, "unauthenticated", "Invalid username or password.");
    render(<App />);
    await signInWithPassword("ana", "wrong password");
    expect((await screen.findByRole("alert")).textContent).toBe("Invalid username or password.");
    server.routes["POST /api/auth/login"] = () =>
      new Response(JSON.stringify({ error: { code: "rate_limited", message: "Slow down." } }), {
        status: 429,
        headers: { "retry-after": "42" },
      });
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("Too many attempts. Try again in 42 s."));
  });

  it("creates an account, checking the fields first and saying when the username is taken", async () => {
    const bodies: unknown[] = [];
    server.routes["POST /api/auth/register"] = (body) => {
      bodies.push(body);
      return bodies.length === 1
        ? apiError(409, "already_exists", "Username taken.")
        : json({ user: { ...ana, name: "Ana B" }, token: "t" }, 201);
    };
    render(<App />);
    await userEvent.click(await screen.findByRole("tab", { name: "Create account" }));
    await userEvent.type(screen.getByLabelText("Username"), "a!");
    await userEvent.type(screen.getByLabelText("Password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(screen.getByText(/3–32 characters/)).toBeTruthy();
    expect(screen.getByText("At least 8 characters.")).toBeTruthy();
    expect(bodies).toEqual([]);

    await userEvent.clear(screen.getByLabelText("Username"));
    await userEvent.type(screen.getByLabelText("Username"), "ana");
    await userEvent.type(screen.getByLabelText("Password"), "-long-enough");
    await userEvent.type(screen.getByLabelText("Display name"), "Ana B");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect((await screen.findByRole("alert")).textContent).toBe("That username is taken. Choose another.");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(bodies[1]).toEqual({ username: "ana", password: "short-long-enough", name: "Ana B" });
  });

  it("continues as a guest where allowed, and says clearly when guests are not", async () => {
    server.routes["POST /api/session"] = () =>
      apiError(403, "permission_denied", "Guests are not allowed on this server.");
    render(<App />);
    await userEvent.click(await screen.findByRole("tab", { name: "Guest" }));
    await userEvent.type(screen.getByLabelText("Display name"), "Cleo");
    await userEvent.click(screen.getByRole("button", { name: "Continue as guest" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/Guests are not allowed on this server/);

    const guest: Me = { id: "g1", name: "Cleo", username: null, kind: "guest", admin: false };
    server.routes["POST /api/session"] = (body) => {
      expect(body).toEqual({ name: "Cleo" });
      return json({ user: guest, token: "t" }, 201);
    };
    await userEvent.click(screen.getByRole("button", { name: "Continue as guest" }));
    expect(await screen.findByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(screen.getByText("guest")).toBeTruthy();
    // Tokens are for accounts: a guest is not offered them.
    expect(screen.queryByRole("link", { name: "API tokens" })).toBeNull();
  });

  it("signs out through the server, then shows the sign-in screen", async () => {
    signedIn();
    render(<App />);
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByText("You are signed out.")).toBeTruthy();
    expect(server.called("POST", "/api/auth/logout")).toBe(true);
    const logoutCall = server.calls.find((c) => c.url === "/api/auth/logout")!;
    expect(logoutCall.method).toBe("POST");
  });

  it("goes back to sign-in, saying why, when the session ends elsewhere (close 1008)", async () => {
    signedIn();
    server.routes["GET /api/rooms/r1"] = () => json(room({ role: "member" }));
    server.routes["GET /api/rooms/r1/messages"] = () => json({ messages: [], has_more: false });
    window.location.hash = "#/rooms/r1";
    render(<App />);
    await waitFor(() => expect(FakeSocket.all.length).toBeGreaterThan(0));
    const socket = FakeSocket.latest();
    act(() => {
      socket.open();
      socket.receive(welcome());
    });
    act(() => socket.drop(1008));
    expect(await screen.findByText(/your session was ended elsewhere/)).toBeTruthy();
    expect(screen.getByRole("tab", { name: "Sign in" })).toBeTruthy();
  });

  it("goes back to sign-in when the REST API answers 401", async () => {
    signedIn();
    server.routes["GET /api/rooms"] = () => apiError(401, "unauthenticated", "Invalid or expired credentials.");
    render(<App />);
    expect(await screen.findByText(/Your session has expired/)).toBeTruthy();
  });
});

describe("App: invite links", () => {
  it("asks a signed-out visitor to sign in, then accepts the invite and opens the room", async () => {
    window.location.hash = "#/invite/inv-token-1";
    server.routes["POST /api/auth/login"] = () => json({ user: ana, token: "t" });
    server.routes["POST /api/invites/inv-token-1/accept"] = () =>
      json(room({ id: "r9", name: "Secret plans", role: "member" }));
    server.routes["GET /api/rooms/r9"] = () => json(room({ id: "r9", name: "Secret plans", role: "member" }));
    server.routes["GET /api/rooms/r9/messages"] = () => json({ messages: [], has_more: false });
    render(<App />);
    expect(await screen.findByText(/You have been invited to a room/)).toBeTruthy();
    expect(server.called("POST", "/api/invites/inv-token-1/accept")).toBe(false);
    await signInWithPassword();
    await waitFor(() => expect(window.location.hash).toBe("#/rooms/r9"));
    expect(server.calls.filter((c) => c.url === "/api/invites/inv-token-1/accept")).toHaveLength(1);
    expect(await screen.findByRole("link", { name: /Secret plans/ })).toBeTruthy();
  });

  it("accepts at once when already signed in", async () => {
    signedIn();
    window.location.hash = "#/invite/inv-2";
    server.routes["POST /api/invites/inv-2/accept"] = () => json(room({ id: "r2", role: "viewer" }));
    render(<App />);
    await waitFor(() => expect(window.location.hash).toBe("#/rooms/r2"));
  });

  it("says clearly when the invite is invalid or expired (404)", async () => {
    signedIn();
    window.location.hash = "#/invite/expired";
    server.routes["POST /api/invites/expired/accept"] = () =>
      apiError(404, "not_found", "Invite not found or no longer valid.");
    render(<App />);
    expect(await screen.findByRole("heading", { name: "This invite cannot be used" })).toBeTruthy();
    expect(screen.getByRole("alert").textContent).toMatch(/invalid or no longer valid/);
    expect(window.location.hash).toBe("#/invite/expired");
  });
});

describe("App: the room list", () => {
  it("lists exactly the rooms the server returns", async () => {
    signedIn();
    server.routes["GET /api/rooms"] = () =>
      json({
        rooms: [room({ id: "a", name: "Alpha", role: "owner" }), room({ id: "b", name: "Beta", role: "viewer" })],
      });
    render(<App />);
    const nav = within(await screen.findByRole("navigation", { name: "Rooms" }));
    await waitFor(() => expect(nav.getAllByRole("listitem")).toHaveLength(2));
    expect(nav.getByRole("link", { name: /Beta/ }).textContent).toMatch(/view only/);
  });
});
