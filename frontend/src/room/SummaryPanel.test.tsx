import { cleanup, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Me } from "../api/types";
import { SessionContext } from "../app/context";
import { ana, message, room } from "../test/fixtures";
import { SummaryPanel } from "./SummaryPanel";

const userEvent = userEventLib.setup({ delay: null });
const me: Me = { ...ana, username: "ana", kind: "user", admin: false };
let fetchMock: ReturnType<typeof vi.fn>;

beforeEach(() => {
  document.cookie = "chimera_csrf=csrf-1; path=/";
  fetchMock = vi.fn();
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function show(summary: ReturnType<typeof room>["summary"]) {
  render(
    <SessionContext.Provider
      value={{ user: me, api: new Api(), signOut: () => undefined, refreshRooms: () => undefined }}
    >
      <SummaryPanel room={room({ summary })} />
    </SessionContext.Provider>,
  );
}

describe("SummaryPanel", () => {
  it("shows the rolling summary and how far it reaches", () => {
    show({ text: "Ana and **Sage** chose Thursday.", upto_seq: 42, updated_at: "2026-11-20T10:00:00.000Z" });
    expect(screen.getByText(/Messages up to #42/)).toBeTruthy();
    expect(screen.getByText("Sage").tagName).toBe("STRONG");
  });

  it("posts a summary on demand and says when it cannot", async () => {
    show(null);
    expect(screen.getByText(/None yet/)).toBeTruthy();
    const posted = message(9, { author: { id: "system:summary", name: "Summary", kind: "system" } });
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify(posted), { status: 201 }));
    await userEvent.click(screen.getByRole("button", { name: "Post a summary now" }));
    expect(fetchMock).toHaveBeenCalledWith("/api/rooms/r1/summary", expect.objectContaining({ method: "POST" }));
    // The cookie authenticates it; the CSRF cookie's value goes along (double submit).
    const [, init] = fetchMock.mock.calls[0];
    expect(init.credentials).toBe("same-origin");
    expect(init.headers["X-CSRF-Token"]).toBe("csrf-1");
    expect(init.headers.authorization).toBeUndefined();
    expect(await screen.findByText("Posted to the room.")).toBeTruthy();

    const refused = { error: { code: "not_found", message: "Room not found." } };
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify(refused), { status: 404 }));
    await userEvent.click(screen.getByRole("button", { name: "Post a summary now" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Room not found.");
  });
});
