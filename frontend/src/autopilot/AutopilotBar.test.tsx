import { act, cleanup, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Me, Room, RoomRole } from "../api/types";
import { SessionContext } from "../app/context";
import { RoomView } from "../room/RoomView";
import { FakeSocket } from "../test/fakeSocket";
import { ana, message, room, welcome } from "../test/fixtures";
import { DEFAULT_AUTOPILOT } from "./autopilot";

const userEvent = userEventLib.setup({ delay: null });
const off = { state: "off" as const, handle: null, reason: null };
const me: Me = { ...ana, username: "ana", kind: "user", admin: false };
let fetchMock: ReturnType<typeof vi.fn>;
/** What GET /api/rooms/r1 answers: the room as the caller sees it (its role included). */
let restRoom: Room;

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  restRoom = room({ role: "owner", autopilot: DEFAULT_AUTOPILOT });
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    if (url === "/api/rooms/r1" && !init?.method?.match(/PATCH/)) return json(restRoom);
    if (url.includes("/messages")) return json({ messages: [message(1, { content: "hello there" })], has_more: false });
    if (url === "/api/models") {
      return json({
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
      });
    }
    if (init?.method === "PATCH") return json(room({ autopilot: { ...DEFAULT_AUTOPILOT, strategy: "round_robin" } }));
    return json({ error: { code: "not_found", message: "Not found." } }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function joined(role: RoomRole = "owner") {
  restRoom = { ...restRoom, role };
  render(
    <SessionContext.Provider
      value={{ user: me, api: new Api(), signOut: () => undefined, refreshRooms: () => undefined }}
    >
      <RoomView roomId="r1" onRoomChanged={() => undefined} />
    </SessionContext.Provider>,
  );
  const socket = FakeSocket.latest();
  act(() => {
    socket.open();
    socket.receive(welcome({ room: room({ role, autopilot: DEFAULT_AUTOPILOT }), autopilot_status: off }));
  });
  await screen.findByText("hello there");
  return socket;
}

describe("autopilot in the room", () => {
  it("switches over the socket and shows who is thinking", async () => {
    const socket = await joined();
    await userEvent.click(screen.getByRole("button", { name: "Autopilot off" }));
    expect(socket.framesOf("autopilot")).toEqual([{ type: "autopilot", enabled: true }]);

    act(() => {
      socket.receive({ type: "room", room: room({ autopilot: { ...DEFAULT_AUTOPILOT, enabled: true, turns: 2 } }) });
      socket.receive({ type: "autopilot_status", state: "thinking", handle: "sage", reason: null });
    });
    const button = screen.getByRole("button", { name: "Autopilot on" });
    expect(button.getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByText("Sage is thinking… · 2/10 turns")).toBeTruthy();

    act(() => socket.receive({ type: "autopilot_status", state: "held", handle: null, reason: "typing" }));
    expect(screen.getByText("Autopilot waits while someone types. · 2/10 turns")).toBeTruthy();
  });

  it("saves its settings and the personas' talkativeness with the room settings", async () => {
    await joined();
    await userEvent.click(screen.getByRole("button", { name: "Room settings" }));
    await userEvent.selectOptions(await screen.findByLabelText("Who speaks next"), "round_robin");
    await userEvent.click(screen.getByLabelText("Mute @sage"));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    const [, init] = fetchMock.mock.calls.find(([, i]) => i?.method === "PATCH")!;
    const body = JSON.parse(String(init.body));
    expect(body.autopilot).toEqual({ strategy: "round_robin" });
    expect(body.personas).toEqual([expect.objectContaining({ handle: "sage", muted: true, talkativeness: 0.5 })]);
  });

  it("lets a member change only the autopilot: personas stay the owner's", async () => {
    await joined("member");
    await userEvent.click(await screen.findByRole("button", { name: "Room settings" }));
    expect(screen.queryByLabelText("Room name")).toBeNull();
    expect((screen.getByLabelText("Mute @sage") as HTMLInputElement).disabled).toBe(true);
    await userEvent.selectOptions(await screen.findByLabelText("Who speaks next"), "round_robin");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));

    const [, init] = fetchMock.mock.calls.find(([, i]) => i?.method === "PATCH")!;
    expect(JSON.parse(String(init.body))).toEqual({ autopilot: { strategy: "round_robin" } });
  });

  it("shows a viewer what the autopilot does, with no switch and no settings", async () => {
    const socket = await joined("viewer");
    await screen.findByText("You can view this room but not post.");
    expect(screen.queryByRole("button", { name: /Autopilot/ })).toBeNull();
    expect(screen.queryByRole("button", { name: "Room settings" })).toBeNull();
    act(() => {
      socket.receive({ type: "room", room: room({ autopilot: { ...DEFAULT_AUTOPILOT, enabled: true, turns: 1 } }) });
      socket.receive({ type: "autopilot_status", state: "thinking", handle: "sage", reason: null });
    });
    expect(screen.getByText("Autopilot on · Sage is thinking… · 1/10 turns")).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Autopilot/ })).toBeNull();
  });
});
