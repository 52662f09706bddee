import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Message, Room, ServerFrame } from "../api/types";
import { useSession } from "../app/context";
import { AutopilotBar } from "../autopilot/AutopilotBar";
import { Composer } from "../composer/Composer";
import { InvitesDialog } from "../members/InvitesDialog";
import { MembersDialog } from "../members/MembersDialog";
import { ConnectionStatus } from "../realtime/ConnectionStatus";
import { RoomSettings } from "../room-settings/RoomSettings";
import { typingText } from "../ui/format";
import { BackIcon, CloseIcon, GearIcon, MembersIcon, PeopleIcon, UserPlusIcon } from "../ui/icons";
import { SpeakerSwitch } from "../voice/SpeakerSwitch";
import { useSound } from "../voice/sound";
import { useSpeech } from "../voice/useSpeech";
import { Participants } from "./Participants";
import { hasSpeech, pendingItems } from "./state";
import { Timeline } from "./Timeline";
import { useRoom } from "./useRoom";

interface Props {
  roomId: string;
  onRoomChanged: (room: Room) => void;
}

type Panel = "settings" | "members" | "invites" | null;

/** One room: header, timeline, who is typing, the composer and the participants. */
export function RoomView({ roomId, onRoomChanged }: Props) {
  const { user, api, signOut, refreshRooms } = useSession();
  const onEnded = useCallback(
    (reason: "unauthorized" | "signed_out") => signOut(reason === "signed_out" ? "ended" : "expired"),
    [signOut],
  );
  const [sound, setSound] = useSound();
  // The speech hook needs the messages, the room its frames: a ref joins them.
  const frameSink = useRef<(frame: ServerFrame) => void>(() => {});
  const onFrame = useCallback((frame: ServerFrame) => frameSink.current(frame), []);
  const room = useRoom(roomId, api, onEnded, { audio: sound ? "pcm" : null, onFrame });
  const { state } = room;
  const speech = useSpeech(roomId, api, sound, state.messages);
  frameSink.current = speech.onFrame;
  const switchSound = (on: boolean) => {
    if (on) speech.unlock();
    setSound(on);
  };
  const replyHasSpeech = useCallback((m: Message) => hasSpeech(state, m), [state]);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [peopleOpen, setPeopleOpen] = useState(false);
  const [panel, setPanel] = useState<Panel>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const viewer = state.role === "viewer";
  const owner = state.role === "owner";
  /** Members who may send change the autopilot (settings and switch) and post summaries. */
  const member = state.role === "member";

  // No access (any more): the room leaves the list too.
  const lost = state.fatal === "forbidden" || state.fatal === "not_found";
  useEffect(() => {
    if (lost) refreshRooms();
  }, [lost, refreshRooms]);

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

  if (lost) {
    // Welcomed before: we had access and lost it (removed, or the room closed to us).
    const hadAccess = state.fatal === "forbidden" && state.welcomed;
    return (
      <section className="page" aria-labelledby="room-gone-title">
        <div className="card" role="alert">
          <h2 id="room-gone-title">{hadAccess ? "You no longer have access to this room" : "Room not found"}</h2>
          <p className="hint">
            {hadAccess
              ? `You were removed from ${state.room ? `“${state.room.name}”` : "this room"}, or its access changed. Ask its owner for a new invite.`
              : "There is no room at this address, or you do not have access to it. Ask its owner for an invite."}
          </p>
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
        <SpeakerSwitch on={sound} onChange={switchSound} />
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
          aria-label="Members"
          title="Members"
          onClick={() => setPanel("members")}
        >
          <MembersIcon />
        </button>
        {owner && (
          <button
            type="button"
            className="icon-btn"
            aria-label="Invite people"
            title="Invite people"
            disabled={!state.room}
            onClick={() => setPanel("invites")}
          >
            <UserPlusIcon />
          </button>
        )}
        {(owner || member) && (
          <button
            type="button"
            className="icon-btn"
            aria-label="Room settings"
            title="Room settings"
            disabled={!state.room}
            onClick={() => setPanel("settings")}
          >
            <GearIcon />
          </button>
        )}
      </header>
      <div className="room-body">
        <div className="conversation">
          <Timeline
            messages={state.messages}
            pending={pendingItems(state)}
            meId={state.me?.id ?? user.id}
            meName={state.me?.name ?? user.name}
            connection={state.connection}
            loaded={state.loaded}
            hasMore={state.hasMore}
            loadingOlder={room.loadingOlder}
            onLoadOlder={room.loadOlder}
            ensureLoaded={room.ensureLoaded}
            onReply={onReply}
            onStop={viewer ? undefined : room.interrupt}
            onRetry={room.retry}
            onDiscard={room.discard}
            speaking={speech.speaking}
            hasSpeech={replyHasSpeech}
            playing={speech.playing}
            onPlaySpeech={speech.play}
            onStopSpeech={speech.stopPlaying}
          />
          <div className="below-log">
            {state.room && (
              <AutopilotBar room={state.room} status={state.autopilot} onChange={room.autopilot} readOnly={viewer} />
            )}
            <p className="typing" aria-live="polite">
              {typingText(typingNames)}
            </p>
            {state.limited !== null && (
              <div role="alert" className="notice">
                <span>
                  Too many connections or messages. Trying again in {Math.max(1, Math.round(state.limited / 1000))} s.
                </span>
              </div>
            )}
            {speech.error && (
              <div role="alert" className="notice">
                <span>{speech.error}</span>
              </div>
            )}
            {state.notice && (
              <div role="alert" className="notice">
                <span>{state.notice}</span>
                <button type="button" className="icon-btn" aria-label="Dismiss" onClick={dismissNotice}>
                  <CloseIcon />
                </button>
              </div>
            )}
          </div>
          {viewer ? (
            <p className="composer viewer-note" role="note">
              You can view this room but not post.
            </p>
          ) : (
            <Composer
              personas={personas}
              people={people}
              meId={state.me?.id ?? user.id}
              replyTo={replyTo}
              onCancelReply={() => setReplyTo(null)}
              onSend={room.send}
              onTyping={room.typing}
              inputRef={input}
            />
          )}
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
      {panel === "settings" && state.room && (
        <RoomSettings
          room={{ ...state.room, role: state.role ?? null }}
          onClose={() => setPanel(null)}
          onSaved={room.roomUpdated}
        />
      )}
      {panel === "members" && (
        <MembersDialog
          roomId={roomId}
          roomName={state.room?.name ?? "this room"}
          myRole={state.role}
          onClose={() => setPanel(null)}
        />
      )}
      {panel === "invites" && state.room && (
        <InvitesDialog roomId={roomId} roomName={state.room.name} onClose={() => setPanel(null)} />
      )}
    </section>
  );
}
