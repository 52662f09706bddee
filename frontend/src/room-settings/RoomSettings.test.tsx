// What the owner's "Room settings" dialog sends: only what changed, and nothing while invalid.
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Me, Room } from "../api/types";
import { SessionContext } from "../app/context";
import { DEFAULT_AUTOPILOT } from "../autopilot/autopilot";
import { room } from "../test/fixtures";
import { apiError, type FakeServer, fakeServer, json } from "../test/server";
import { RoomSettings } from "./RoomSettings";

const userEvent = userEventLib.setup({ delay: null });
const ana: Me = { id: "u-ana", name: "Ana", username: "ana", kind: "user", admin: false };
const owned = room({ role: "owner", access: "invite", allow_guests: false, autopilot: DEFAULT_AUTOPILOT });
let server: FakeServer;

beforeEach(() => {
  server = fakeServer({
    "GET /api/models": () =>
      json({
        models: [
          {
            id: "gpt-4o-mini",
            backend: "openai",
            model: "gpt-4o-mini",
            available: true,
            reason: null,
            context_window: 128000,
          },
        ],
      }),
    "PATCH /api/rooms/r1": (body) => json({ ...owned, ...(body as object) }),
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderSettings(current: Room = owned) {
  const onClose = vi.fn();
  const onSaved = vi.fn();
  render(
    <SessionContext.Provider value={{ user: ana, api: new Api(), signOut: vi.fn(), refreshRooms: vi.fn() }}>
      <RoomSettings room={current} onClose={onClose} onSaved={onSaved} />
    </SessionContext.Provider>,
  );
  return { onClose, onSaved };
}

const patched = () => server.calls.find((c) => c.method === "PATCH")?.body;

describe("RoomSettings", () => {
  it("sends only the name and access the owner changed", async () => {
    const { onClose, onSaved } = renderSettings();
    const name = screen.getByLabelText("Room name") as HTMLInputElement;
    expect(name.value).toBe("General");
    await userEvent.clear(name);
    await userEvent.type(name, "  Plans ");
    await userEvent.click(screen.getByRole("radio", { name: /Anyone signed in/ }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(patched()).toEqual({ name: "Plans", access: "open" });
    expect(onSaved).toHaveBeenCalledWith(expect.objectContaining({ name: "Plans", access: "open" }));
  });

  it("closes without a request when nothing changed", async () => {
    const { onClose } = renderSettings();
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onClose).toHaveBeenCalled();
    expect(patched()).toBeUndefined();
  });

  it("refuses an empty name or a bad persona, and sends nothing", async () => {
    const { onClose } = renderSettings();
    await userEvent.clear(screen.getByLabelText("Room name"));
    await userEvent.clear(screen.getByLabelText("Temperature"));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByText("Give the room a name.")).toBeTruthy();
    expect(screen.getByText("From 0 to 2.")).toBeTruthy();
    expect(onClose).not.toHaveBeenCalled();
    expect(patched()).toBeUndefined();
  });

  it("replaces the personas as a whole when one is added", async () => {
    const { onClose } = renderSettings();
    await screen.findByText(/tokens of context/);
    await userEvent.click(screen.getByRole("button", { name: "Add persona" }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    const body = patched() as { personas: Array<{ handle: string }> };
    expect(Object.keys(body)).toEqual(["personas"]);
    expect(body.personas.map((p) => p.handle)).toEqual(["sage", "persona2"]);
  });

  it("shows why a save failed and stays open", async () => {
    server.routes["PATCH /api/rooms/r1"] = () => apiError(409, "conflict", "That name is taken.");
    const { onClose } = renderSettings();
    await userEvent.type(screen.getByLabelText("Room name"), "!");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect((await screen.findByRole("alert")).textContent).toBe("That name is taken.");
    expect(onClose).not.toHaveBeenCalled();
    expect((screen.getByRole("button", { name: "Save" }) as HTMLButtonElement).disabled).toBe(false);
  });
});
