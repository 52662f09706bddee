import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useSession } from "../app/context";
import { Composer } from "../composer/Composer";
import { pendingItems } from "../room/state";
import { useRoom } from "../room/useRoom";
import type { Message, Room } from "../types";
import { AutopilotBar } from "./AutopilotBar";
import { ConnectionStatus } from "./ConnectionStatus";
import { typingText } from "./format";
import { BackIcon, CloseIcon, GearIcon, PeopleIcon } from "./icons";
import { Participants } from "./Participants";
import { RoomSettings } from "./RoomSettings";
import { Timeline } from "./Timeline";

interface Props {
  roomId: string;
  onRoomChanged: (room: Room) => void;
}

/** One room: header, timeline, who is typing, the composer and the participants. */
export function RoomView({ roomId, onRoomChanged }: Props) {
  const { session, api, signOut } = useSession();
  const room = useRoom(roomId, session.token, api, signOut);
  const { state } = room;
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [peopleOpen, setPeopleOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (state.room) onRoomChanged(state.room);
  }, [state.room, onRoomChanged]);

  useEffect(() => {
    document.title = state.room ? `${state.room.name} · Chimera` : "Chimera";
    return () => {
      document.title = "Chimera";
    };
  }, [state.room]);

  const { dismissNotice } = room;
  useEffect(() => {
    if (!state.notice) return;
    const timer = setTimeout(dismissNotice, 6000);
    return () => clearTimeout(timer);
  }, [state.notice, dismissNotice]);

  const onReply = useCallback((message: Message) => {
    setReplyTo(message);
    input.current?.focus();
  }, []);

  const people = useMemo(() => Object.values(state.people), [state.people]);
  const personas = state.room?.personas ?? [];
  const typingNames = Object.values(state.typing).map((t) => t.user.name);

  if (state.fatal === "not_found") {
    return (
      <section className="page">
        <div className="card">
          <h2>Room not found</h2>
          <p className="hint">There is no room at this address. It may have been mistyped.</p>
          <a className="btn" href="#/">
            Back to rooms
          </a>
        </div>
      </section>
    );
  }

  return (
    <section className="room" aria-labelledby="room-title">
      <header className="room-head">
        <a href="#/" className="icon-btn room-back" aria-label="All rooms">
          <BackIcon />
        </a>
        <h1 id="room-title" className="room-title">
          {state.room?.name ?? "…"}
        </h1>
        <ConnectionStatus state={state.connection} retryInMs={state.retryInMs} />
        <button
          type="button"
          className="icon-btn people-toggle"
          aria-label="Participants"
          aria-expanded={peopleOpen}
          aria-controls="participants"
          onClick={() => setPeopleOpen((o) => !o)}
        >
          <PeopleIcon />
        </button>
        <button
          type="button"
          className="icon-btn"
          aria-label="Room settings"
          title="Room settings"
          disabled={!state.room}
          onClick={() => setSettingsOpen(true)}
        >
          <GearIcon />
        </button>
      </header>
      <div className="room-body">
        <div className="conversation">
          <Timeline
            messages={state.messages}
            pending={pendingItems(state)}
            meId={state.me?.id ?? session.user.id}
            meName={state.me?.name ?? session.user.name}
            connection={state.connection}
            loaded={state.loaded}
            hasMore={state.hasMore}
            loadingOlder={room.loadingOlder}
            onLoadOlder={room.loadOlder}
            ensureLoaded={room.ensureLoaded}
            onReply={onReply}
            onStop={room.interrupt}
            onRetry={room.retry}
            onDiscard={room.discard}
          />
          <div className="below-log">
            {state.room && <AutopilotBar room={state.room} status={state.autopilot} onChange={room.autopilot} />}
            <p className="typing" aria-live="polite">
              {typingText(typingNames)}
            </p>
            {state.notice && (
              <div role="alert" className="notice">
                <span>{state.notice}</span>
                <button type="button" className="icon-btn" aria-label="Dismiss" onClick={dismissNotice}>
                  <CloseIcon />
                </button>
              </div>
            )}
          </div>
          <Composer
            personas={personas}
            people={people}
            meId={state.me?.id ?? session.user.id}
            replyTo={replyTo}
            onCancelReply={() => setReplyTo(null)}
            onSend={room.send}
            onTyping={room.typing}
            inputRef={input}
          />
        </div>
        {peopleOpen && <div className="scrim" aria-hidden="true" onClick={() => setPeopleOpen(false)} />}
        <Participants
          id="participants"
          open={peopleOpen}
          onClose={() => setPeopleOpen(false)}
          people={people}
          online={state.online}
          meId={state.me?.id ?? null}
          personas={personas}
          connected={state.connection === "connected"}
        />
      </div>
      {settingsOpen && state.room && (
        <RoomSettings room={state.room} onClose={() => setSettingsOpen(false)} onSaved={room.roomUpdated} />
      )}
    </section>
  );
}
