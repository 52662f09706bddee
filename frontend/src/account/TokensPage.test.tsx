import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { ApiToken, Me } from "../api/types";
import { SessionContext } from "../app/context";
import { apiError, type FakeServer, fakeServer, json } from "../test/server";
import { TokensPage } from "./TokensPage";

const userEvent = userEventLib.setup({ delay: null });
const ana: Me = { id: "u-ana", name: "Ana", username: "ana", kind: "user", admin: false };
const SECRET = "chm_s3cr3t-value";
let server: FakeServer;
let tokens: ApiToken[];
const signOut = vi.fn();

beforeEach(() => {
  tokens = [{ id: "t0", name: "old laptop", created_at: "2026-01-02T10:00:00Z", expires_at: null, last_used_at: null }];
  server = fakeServer({
    "GET /api/tokens": () => json({ tokens }),
    "POST /api/tokens": (body) => {
      const { name, expires_in_days } = body as { name: string; expires_in_days?: number };
      const created = {
        id: "t1",
        name,
        created_at: "2026-03-01T10:00:00Z",
        expires_at: expires_in_days ? "2026-03-31T10:00:00Z" : null,
      };
      tokens = [...tokens, { ...created, last_used_at: null }];
      return json({ ...created, token: SECRET }, 201);
    },
    "DELETE /api/tokens/t0": () => {
      tokens = tokens.filter((t) => t.id !== "t0");
      return json(null, 204);
    },
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderPage(user: Me = ana) {
  return render(
    <SessionContext.Provider value={{ user, api: new Api(), signOut, refreshRooms: () => undefined }}>
      <TokensPage />
    </SessionContext.Provider>,
  );
}

describe("TokensPage", () => {
  it("creates a token and shows it once, with a copy button and a warning", async () => {
    const writeText = vi.fn(async () => undefined);
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    const { unmount } = renderPage();
    expect(await screen.findByText("old laptop")).toBeTruthy();
    await userEvent.type(screen.getByLabelText("Token name"), "ci runner");
    await userEvent.selectOptions(screen.getByLabelText("Expires"), "In 30 days");
    await userEvent.click(screen.getByRole("button", { name: "Create token" }));
    expect(server.calls.find((c) => c.method === "POST")?.body).toEqual({ name: "ci runner", expires_in_days: 30 });

    const shown = within(await screen.findByRole("region", { name: "Your new token" }));
    expect((shown.getByLabelText(/New token/) as HTMLInputElement).value).toBe(SECRET);
    expect(shown.getByText(/shown only this once/)).toBeTruthy();
    await userEvent.click(shown.getByRole("button", { name: "Copy token" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(await shown.findByText("Copied.")).toBeTruthy();
    // Listed by name, never with its secret.
    const list = within(await screen.findByRole("list", { name: "Your tokens" }));
    await waitFor(() => expect(list.getByText("ci runner")).toBeTruthy());
    expect(list.queryByText(new RegExp(SECRET))).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Done, hide it" }));
    expect(screen.queryByDisplayValue(SECRET)).toBeNull();
    // Coming back to the page: the list only, the secret is gone for good.
    unmount();
    renderPage();
    expect(await screen.findByText("ci runner")).toBeTruthy();
    expect(screen.queryByDisplayValue(SECRET)).toBeNull();
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("asks for a name before creating", async () => {
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Create token" }));
    expect(screen.getByText(/Name the token/)).toBeTruthy();
    expect(server.called("POST", "/api/tokens")).toBe(false);
  });

  it("creates a token that never expires without expires_in_days", async () => {
    renderPage();
    await userEvent.type(await screen.findByLabelText("Token name"), "forever");
    await userEvent.selectOptions(screen.getByLabelText("Expires"), "Never");
    await userEvent.click(screen.getByRole("button", { name: "Create token" }));
    await waitFor(() => expect(server.calls.find((c) => c.method === "POST")?.body).toEqual({ name: "forever" }));
  });

  it("revokes a token", async () => {
    renderPage();
    await userEvent.click(await screen.findByRole("button", { name: "Revoke old laptop" }));
    expect(server.called("DELETE", "/api/tokens/t0")).toBe(true);
    await waitFor(() => expect(screen.queryByText("old laptop")).toBeNull());
    expect(screen.getByText("No tokens yet.")).toBeTruthy();
  });

  it("tells a guest tokens are for accounts", async () => {
    renderPage({ ...ana, kind: "guest", username: null });
    expect(screen.getByText(/Guests cannot create them/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Create token" })).toBeNull();
    expect(server.calls).toEqual([]);
  });

  it("signs out when the session is gone", async () => {
    server.routes["GET /api/tokens"] = () => apiError(401, "unauthenticated", "Invalid or expired credentials.");
    renderPage();
    await waitFor(() => expect(signOut).toHaveBeenCalledWith("expired"));
  });
});
