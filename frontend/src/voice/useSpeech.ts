// Wires the speaker switch, a room's frames and the stored recordings to the one SpeechPlayer.
import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../api/api";
import type { Message, ServerFrame } from "../api/types";
import { type Speaking, SpeechPlayer } from "./player";

let shared: SpeechPlayer | null = null;

/** Tests start each case with a fresh player (and AudioContext). */
export function resetSharedPlayer(): void {
  shared?.stop();
  shared = null;
}

/** The page's one player (one AudioContext for every room). */
export function sharedPlayer(): SpeechPlayer {
  shared ??= new SpeechPlayer();
  return shared;
}

export interface SpeechControls {
  /** The reply and sentence being said now, live or from a recording. */
  speaking: Speaking | null;
  /** Feed every frame of the room here (speech frames, interrupted replies). */
  onFrame: (frame: ServerFrame) => void;
  /** The reply whose stored recording is playing. */
  playing: string | null;
  play: (messageId: string) => void;
  stopPlaying: () => void;
  /** Call from the click that switches sound on (browsers let audio start only after a gesture). */
  unlock: () => void;
  error: string | null;
}

/** Speech in one room: live while `sound` is on, and the stored recordings on demand. */
export function useSpeech(
  roomId: string,
  api: Api,
  sound: boolean,
  messages: Message[],
  player: SpeechPlayer = sharedPlayer(),
): SpeechControls {
  const [speaking, setSpeaking] = useState<Speaking | null>(player.speaking);
  const [playing, setPlaying] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const soundRef = useRef(sound);
  soundRef.current = sound;
  const messagesRef = useRef(messages);
  messagesRef.current = messages;

  useEffect(() => player.subscribe(setSpeaking), [player]);

  // Sound off, or another room: silence now.
  useEffect(() => {
    if (!sound) player.stop();
  }, [sound, player]);
  // Leaving the room (or switching to another one) silences it.
  useEffect(() => () => player.stop(), [player, roomId]);

  // Switched on in an earlier visit: the browser lets audio start at the first gesture here.
  useEffect(() => {
    if (!sound) return;
    const unlock = () => player.context();
    const events = ["pointerdown", "keydown"] as const;
    for (const e of events) window.addEventListener(e, unlock, { once: true, capture: true });
    return () => {
      for (const e of events) window.removeEventListener(e, unlock, { capture: true });
    };
  }, [sound, player]);

  const onFrame = useCallback(
    (frame: ServerFrame) => {
      if (frame.type === "speech") {
        if (!soundRef.current) return;
        const seq = messagesRef.current.find((m) => m.id === frame.message_id)?.seq;
        player.enqueue(frame, seq);
      } else if (frame.type === "message" && frame.message.status === "interrupted") {
        // Stop ends the speech too: nothing more of it is said, what is queued goes.
        player.drop(frame.message.id);
      }
    },
    [player],
  );

  const stopPlaying = useCallback(() => {
    player.stopClip();
    setPlaying(null);
  }, [player]);

  const play = useCallback(
    (messageId: string) => {
      setError(null);
      setPlaying(messageId);
      player.context();
      api
        .speech(roomId, messageId)
        .then((wav) => player.playClip(wav))
        .catch((e: Error) => setError(`The recording could not be played: ${e.message}`))
        .finally(() => setPlaying((id) => (id === messageId ? null : id)));
    },
    [api, roomId, player],
  );

  return { speaking, onFrame, playing, play, stopPlaying, unlock: () => player.context(), error };
}
