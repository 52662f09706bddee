import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Me } from "../api/types";
import { SessionContext } from "../app/context";
import { room } from "../test/fixtures";
import { type FakeServer, fakeServer, json } from "../test/server";
import { CreateRoom } from "./CreateRoom";

const userEvent = userEventLib.setup({ delay: null });
const ana: Me = { id: "u-ana", name: "Ana", username: "ana", kind: "user", admin: false };
let server: FakeServer;

beforeEach(() => {
  server = fakeServer({
    "GET /api/models": () => json({ models: [] }),
    "POST /api/rooms": (body) => json(room({ id: "new", ...(body as object), role: "owner" }), 201),
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderForm(user: Me = ana) {
  const onCreated = vi.fn();
  render(
    <SessionContext.Provider value={{ user, api: new Api(), signOut: vi.fn(), refreshRooms: vi.fn() }}>
      <CreateRoom onCreated={onCreated} />
    </SessionContext.Provider>,
  );
  return onCreated;
}

const posted = () => server.calls.find((c) => c.method === "POST")?.body;

describe("CreateRoom", () => {
  it("makes invite-only rooms without guests by default", async () => {
    const onCreated = renderForm();
    expect((screen.getByRole("radio", { name: /Invited people only/ }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("checkbox", { name: /Allow guests/ }) as HTMLInputElement).checked).toBe(false);
    await userEvent.type(screen.getByLabelText("Room name"), "Secret");
    await userEvent.click(screen.getByRole("button", { name: "Create room" }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(posted()).toEqual({ name: "Secret", personas: [], access: "invite", allow_guests: false });
    expect(window.location.hash).toBe("#/rooms/new");
  });

  it("makes an open room that admits guests when asked", async () => {
    renderForm();
    await userEvent.type(screen.getByLabelText("Room name"), "Lobby");
    await userEvent.click(screen.getByRole("radio", { name: /Anyone signed in/ }));
    await userEvent.click(screen.getByRole("checkbox", { name: /Allow guests/ }));
    await userEvent.click(screen.getByRole("button", { name: "Create room" }));
    await waitFor(() => expect(posted()).toEqual({ name: "Lobby", personas: [], access: "open", allow_guests: true }));
  });

  it("always admits guests to a guest's room (its owner is one)", async () => {
    renderForm({ ...ana, kind: "guest", username: null });
    const guests = screen.getByRole("checkbox", { name: /Allow guests/ }) as HTMLInputElement;
    expect(guests.checked).toBe(true);
    expect(guests.disabled).toBe(true);
    await userEvent.type(screen.getByLabelText("Room name"), "Mine");
    await userEvent.click(screen.getByRole("button", { name: "Create room" }));
    await waitFor(() => expect(posted()).toMatchObject({ access: "invite", allow_guests: true }));
  });
});
