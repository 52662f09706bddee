// Wires a RoomConnection and the REST history to the room reducer for one open room.
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { type Api, ApiError } from "../api/api";
import type { AudioFormat, AutopilotPatch, Message, Room, ServerFrame } from "../api/types";
import { type FatalReason, RoomConnection } from "../realtime/socket";
import { highestSeq, initialRoomState, type RoomState, roomReducer } from "./state";

export const PAGE_SIZE = 50;
/** How far back a quote's original is looked for before giving up. */
const MAX_PAGES_FOR_QUOTE = 40;

export interface RoomControls {
  state: RoomState;
  loadingOlder: boolean;
  loadOlder: () => Promise<void>;
  /** Make sure a message is held, loading older pages as needed; false if not found. */
  ensureLoaded: (messageId: string) => Promise<boolean>;
  send: (content: string, replyTo: string | null) => void;
  retry: (clientMsgId: string) => void;
  discard: (clientMsgId: string) => void;
  typing: (active: boolean) => void;
  interrupt: (messageId: string) => void;
  /** Switch the autopilot or change its settings (over the socket, else over REST). */
  autopilot: (patch: AutopilotPatch) => void;
  roomUpdated: (room: Room) => void;
  dismissNotice: () => void;
}

export interface RoomOptions {
  /** Ask for replies' speech in this format (null: none); follows changes. */
  audio?: AudioFormat | null;
  /** Hears every server frame (speech included) as it arrives. */
  onFrame?: (frame: ServerFrame) => void;
}

/**
 * One open room. `onEnded` hears the reasons that end more than the room: the session is not
 * accepted (401, close 4401) or was ended elsewhere (close 1008). Losing access to the room
 * (close 4403, REST 404) lands in `state.fatal`.
 */
export function useRoom(
  roomId: string,
  api: Api,
  onEnded: (reason: Extract<FatalReason, "unauthorized" | "signed_out">) => void,
  options: RoomOptions = {},
): RoomControls {
  const [state, dispatch] = useReducer(roomReducer, undefined, initialRoomState);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const stateRef = useRef(state);
  stateRef.current = state;
  const connRef = useRef<RoomConnection | null>(null);
  const olderRef = useRef<Promise<void> | null>(null);
  const endedRef = useRef(onEnded);
  endedRef.current = onEnded;
  const audio = options.audio ?? null;
  const audioRef = useRef(audio);
  audioRef.current = audio;
  const frameRef = useRef(options.onFrame);
  frameRef.current = options.onFrame;

  const failed = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) endedRef.current("unauthorized");
    else if (error instanceof ApiError && error.status === 404) dispatch({ type: "fatal", reason: "not_found" });
    else {
      const message = error instanceof Error ? error.message : String(error);
      dispatch({ type: "frame", frame: { type: "error", code: "client", message }, now: Date.now() });
    }
  }, []);

  useEffect(() => {
    let live = true;
    // No token: the session cookie goes with the WebSocket upgrade.
    const conn = new RoomConnection({ roomId, audio: audioRef.current });
    connRef.current = conn;

    /** My role decides what I may do (viewers cannot post or stop): ask REST, it is per caller. */
    const loadRole = async () => {
      try {
        const room = await api.getRoom(roomId);
        // The REST view is the caller's own: role, access and allow_guests included.
        if (live) dispatch({ type: "room", room: { ...room, role: room.role ?? null } });
      } catch (error) {
        // A 404 here is the socket's 4403 too: the socket says it (once, and closes).
        if (live && error instanceof ApiError && error.status === 401) endedRef.current("unauthorized");
      }
    };

    const reloadNewest = async () => {
      try {
        const page = await api.messages(roomId, { limit: PAGE_SIZE });
        if (!live) return;
        dispatch({ type: "page", mode: "newest", messages: page.messages, hasMore: page.has_more });
        conn.noteSeq(page.messages.at(-1)?.seq ?? 0);
      } catch (error) {
        if (live) failed(error);
      }
    };

    const unsubscribe = conn.subscribe((event) => {
      switch (event.kind) {
        case "frame":
          frameRef.current?.(event.frame);
          if (event.frame.type === "welcome" && !event.frame.resumed) {
            // The room is behind what we hold (it was reset): start over from its newest page.
            if (event.frame.last_seq < conn.lastSeq) conn.resetSeq(0);
            dispatch({ type: "frame", frame: event.frame, now: Date.now() });
            void reloadNewest();
          } else {
            dispatch({ type: "frame", frame: event.frame, now: Date.now() });
            // Refused as a viewer: my role changed under me; look it up again.
            if (event.frame.type === "error" && event.frame.code === "permission_denied") void loadRole();
          }
          break;
        case "state":
          dispatch({ type: "connection", state: event.state, retryInMs: event.retryInMs });
          break;
        case "outbox":
          dispatch({ type: "outbox", items: event.items });
          break;
        case "fatal":
          if (event.reason === "unauthorized" || event.reason === "signed_out") endedRef.current(event.reason);
          else dispatch({ type: "fatal", reason: event.reason });
          break;
        case "limited":
          dispatch({ type: "limited", retryInMs: event.retryInMs });
          break;
      }
    });
    const online = () => conn.handleOnline();
    const offline = () => conn.handleOffline();
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    conn.connect();
    void loadRole();
    return () => {
      live = false;
      unsubscribe();
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      conn.close();
      connRef.current = null;
    };
  }, [roomId, api, failed]);

  useEffect(() => {
    connRef.current?.setAudio(audio);
  }, [audio]);

  // Whatever the REST pages added is held too: a resume starts after it.
  useEffect(() => {
    connRef.current?.noteSeq(highestSeq(state));
  }, [state]);

  // Typing indicators expire unless repeated.
  const typingCount = Object.keys(state.typing).length;
  useEffect(() => {
    if (!typingCount) return;
    const timer = setInterval(() => dispatch({ type: "expireTyping", now: Date.now() }), 1000);
    return () => clearInterval(timer);
  }, [typingCount]);

  const loadOlder = useCallback((): Promise<void> => {
    if (olderRef.current) return olderRef.current;
    const { hasMore, messages } = stateRef.current;
    if (!hasMore || !messages.length) return Promise.resolve();
    setLoadingOlder(true);
    const run = (async () => {
      try {
        const page = await api.messages(roomId, { before: messages[0].seq, limit: PAGE_SIZE });
        dispatch({ type: "page", mode: "older", messages: page.messages, hasMore: page.has_more });
        // Let the reducer's result reach stateRef before the next page is asked for.
        await new Promise((resolve) => setTimeout(resolve, 0));
      } catch (error) {
        failed(error);
      } finally {
        olderRef.current = null;
        setLoadingOlder(false);
      }
    })();
    olderRef.current = run;
    return run;
  }, [api, roomId, failed]);

  const ensureLoaded = useCallback(
    async (messageId: string): Promise<boolean> => {
      const held = () => stateRef.current.messages.some((m: Message) => m.id === messageId);
      for (let i = 0; i < MAX_PAGES_FOR_QUOTE && !held(); i++) {
        if (!stateRef.current.hasMore) break;
        await loadOlder();
      }
      return held();
    },
    [loadOlder],
  );

  const interrupt = useCallback(
    (messageId: string) => {
      if (connRef.current?.interrupt(messageId)) return;
      api
        .interrupt(roomId, messageId)
        .then((message) => dispatch({ type: "frame", frame: { type: "message", message }, now: Date.now() }), failed);
    },
    [api, roomId, failed],
  );

  const autopilot = useCallback(
    (patch: AutopilotPatch) => {
      if (connRef.current?.autopilot(patch)) return;
      api.updateRoom(roomId, { autopilot: patch }).then((room) => dispatch({ type: "room", room }), failed);
    },
    [api, roomId, failed],
  );

  return {
    state,
    loadingOlder,
    loadOlder,
    ensureLoaded,
    send: useCallback((content, replyTo) => void connRef.current?.send(content, replyTo), []),
    retry: useCallback((id) => connRef.current?.retry(id), []),
    discard: useCallback((id) => connRef.current?.discard(id), []),
    typing: useCallback((active) => void connRef.current?.typing(active), []),
    interrupt,
    autopilot,
    roomUpdated: useCallback((room) => dispatch({ type: "room", room }), []),
    dismissNotice: useCallback(() => dispatch({ type: "dismissNotice" }), []),
  };
}
