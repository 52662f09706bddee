import { cleanup, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api";
import { SessionContext } from "../app/context";
import { ana, message, room } from "../test/fixtures";
import { SummaryPanel } from "./SummaryPanel";

const userEvent = userEventLib.setup({ delay: null });
let fetchMock: ReturnType<typeof vi.fn>;

beforeEach(() => {
  fetchMock = vi.fn();
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function show(summary: ReturnType<typeof room>["summary"]) {
  render(
    <SessionContext.Provider value={{ session: { user: ana, token: "tok" }, api: new Api("tok"), signOut: () => undefined }}>
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
    expect(await screen.findByText("Posted to the room.")).toBeTruthy();

    const refused = { error: { code: "not_found", message: "Room not found." } };
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify(refused), { status: 404 }));
    await userEvent.click(screen.getByRole("button", { name: "Post a summary now" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Room not found.");
  });
});
