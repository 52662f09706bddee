// The speaker switch, live speech and stored recordings in a room (Web Audio faked).
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import userEventLib from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/api";
import type { Me, Message } from "../api/types";
import { SessionContext } from "../app/context";
import { FakeContext, speech } from "../test/fakeAudio";
import { FakeSocket } from "../test/fakeSocket";
import { aiReply, ana, message, room, welcome } from "../test/fixtures";
import { START_CUSHION_S } from "../voice/player";
import { SOUND_KEY } from "../voice/sound";
import { resetSharedPlayer } from "../voice/useSpeech";
import { RoomView } from "./RoomView";

const userEvent = userEventLib.setup({ delay: null });
const me: Me = { ...ana, username: "ana", kind: "user", admin: false };
let contexts: FakeContext[];
let fetchMock: ReturnType<typeof vi.fn>;
let held: Message[];

function json(body: unknown) {
  return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
}

beforeEach(() => {
  localStorage.clear();
  resetSharedPlayer();
  FakeSocket.all = [];
  contexts = [];
  held = [message(1, { content: "@sage hi" })];
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal(
    "AudioContext",
    class extends FakeContext {
      constructor() {
        super();
        contexts.push(this);
      }
    },
  );
  fetchMock = vi.fn(async (url: string) => {
    if (url === "/api/rooms/r1") return json(room({ role: "member" }));
    if (url.endsWith("/speech?format=wav")) return new Response(new ArrayBuffer(4000), { status: 200 });
    return json({ messages: held, has_more: false });
  });
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderRoom() {
  const view = render(
    <SessionContext.Provider value={{ user: me, api: new Api(), signOut: vi.fn(), refreshRooms: vi.fn() }}>
      <RoomView roomId="r1" onRoomChanged={() => undefined} />
    </SessionContext.Provider>,
  );
  const socket = FakeSocket.latest();
  act(() => {
    socket.open();
    socket.receive(welcome({ last_seq: 1 }));
  });
  return { socket, view };
}

const soundSwitch = () => screen.getByRole("button", { name: "Sound" });
const replyArticle = () => screen.getByRole("article", { name: "Sage" });

describe("the speaker switch", () => {
  it("is off by default: the hello asks for no audio", () => {
    const { socket } = renderRoom();
    expect(socket.sent[0]).toEqual({ type: "hello" });
    expect(soundSwitch().getAttribute("aria-pressed")).toBe("false");
  });

  it("asks for PCM when switched on, is remembered by this browser, and says off when switched off", async () => {
    const { socket, view } = renderRoom();
    await userEvent.click(soundSwitch());
    expect(socket.framesOf("audio")).toEqual([{ type: "audio", format: "pcm" }]);
    expect(localStorage.getItem(SOUND_KEY)).toBe("on");
    expect(soundSwitch().getAttribute("aria-pressed")).toBe("true");

    // A reload (a new view) remembers it: its hello asks for audio.
    view.unmount();
    const again = renderRoom().socket;
    expect(again.sent[0]).toEqual({ type: "hello", audio: "pcm" });
    expect(soundSwitch().getAttribute("aria-pressed")).toBe("true");

    await userEvent.click(soundSwitch());
    expect(again.framesOf("audio")).toEqual([{ type: "audio", format: "off" }]);
    expect(localStorage.getItem(SOUND_KEY)).toBeNull();
  });
});

describe("live speech", () => {
  beforeEach(() => localStorage.setItem(SOUND_KEY, "on"));

  function streamReply(socket: FakeSocket) {
    act(() => {
      socket.receive({ type: "message", message: aiReply(2, { content: "One. Two." }) });
      socket.receive(speech("m2", 0, 400));
      socket.receive(speech("m2", 1, 300));
    });
  }

  it("plays a reply's sentences back to back and marks the reply being said", async () => {
    const { socket } = renderRoom();
    streamReply(socket);
    expect(contexts).toHaveLength(1);
    const [ctx] = contexts;
    expect(ctx.audible().map((s) => s.startedAt)).toEqual([START_CUSHION_S, START_CUSHION_S + 0.4]);
    // Time passes into the second sentence: the reply is marked as speaking it.
    ctx.currentTime = START_CUSHION_S + 0.5;
    await waitFor(() => expect(replyArticle().getAttribute("data-speaking")).toBe("1"));
    expect(screen.getByRole("img", { name: "Speaking, sentence 2" })).toBeTruthy();
    // Heard here, so it can be heard again.
    expect(screen.getByRole("button", { name: "Listen to Sage" })).toBeTruthy();
  });

  it("drops the reply's queued audio when it is interrupted", async () => {
    const { socket } = renderRoom();
    streamReply(socket);
    const [ctx] = contexts;
    ctx.currentTime = 0.1;
    await waitFor(() => expect(replyArticle().getAttribute("data-speaking")).toBe("0"));
    act(() => socket.receive({ type: "message", message: aiReply(2, { content: "One.", status: "interrupted" }) }));
    expect(ctx.audible()).toEqual([]);
    expect(replyArticle().getAttribute("data-speaking")).toBeNull();
    act(() => socket.receive(speech("m2", 2, 300)));
    expect(ctx.audible()).toEqual([]);
  });

  it("stops what is playing when sound is switched off, and ignores speech while off", async () => {
    const { socket } = renderRoom();
    streamReply(socket);
    const [ctx] = contexts;
    await userEvent.click(soundSwitch());
    expect(ctx.audible()).toEqual([]);
    act(() => socket.receive(speech("m2", 2, 300)));
    expect(ctx.audible()).toEqual([]);
  });
});

describe("stored speech", () => {
  it("plays a reply's stored recording from its Listen button", async () => {
    held = [
      message(1, { content: "@sage hi" }),
      aiReply(2, {
        content: "Done.",
        status: "complete",
        speech: { voice: "joe", sentences: 1, final: true, sample_rate: 22050 },
      }),
    ];
    renderRoom();
    await userEvent.click(await screen.findByRole("button", { name: "Listen to Sage" }));
    expect(fetchMock).toHaveBeenCalledWith("/api/rooms/r1/messages/m2/speech?format=wav", expect.anything());
    await waitFor(() => expect(contexts[0]?.audible()).toHaveLength(1));
    expect(contexts[0].audible()[0].buffer?.duration).toBe(2);
    await userEvent.click(screen.getByRole("button", { name: "Stop listening to Sage" }));
    expect(contexts[0].audible()).toEqual([]);
  });

  it("offers no Listen button on a reply without speech", async () => {
    held = [message(1), aiReply(2, { content: "Quiet.", status: "complete" })];
    renderRoom();
    await screen.findByText("Quiet.");
    expect(screen.queryByRole("button", { name: "Listen to Sage" })).toBeNull();
  });
});
