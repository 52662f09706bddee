import { act, cleanup, render, screen } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api";
import { SessionContext } from "../app/context";
import { DEFAULT_AUTOPILOT } from "../rooms/autopilot";
import { FakeSocket } from "../test/fakeSocket";
import { ana, message, room, welcome } from "../test/fixtures";
import { RoomView } from "./RoomView";

const userEvent = userEventLib.setup({ delay: null });
const off = { state: "off" as const, handle: null, reason: null };
let fetchMock: ReturnType<typeof vi.fn>;

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    if (url.includes("/messages")) return json({ messages: [message(1, { content: "hello there" })], has_more: false });
    if (url === "/api/models") {
      return json({ models: [{ id: "gpt-4o-mini", backend: "openai", model: "gpt-4o-mini", available: true, reason: null, context_window: 128000 }] });
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

async function joined() {
  render(
    <SessionContext.Provider value={{ session: { user: ana, token: "tok" }, api: new Api("tok"), signOut: () => undefined }}>
      <RoomView roomId="r1" onRoomChanged={() => undefined} />
    </SessionContext.Provider>,
  );
  const socket = FakeSocket.latest();
  act(() => {
    socket.open();
    socket.receive(welcome({ room: room({ autopilot: DEFAULT_AUTOPILOT }), autopilot_status: off }));
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
    expect(body.personas).toEqual([
      expect.objectContaining({ handle: "sage", muted: true, talkativeness: 0.5 }),
    ]);
  });
});
