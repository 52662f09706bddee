import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { Message, OutboxItem } from "../api/types";
import type { ConnectionState } from "../realtime/socket";
import type { Speaking } from "../voice/player";
import { MessageItem } from "./MessageItem";
import { PendingItem } from "./PendingItem";

interface Props {
  messages: Message[];
  pending: OutboxItem[];
  meId: string | null;
  meName: string;
  connection: ConnectionState;
  loaded: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => Promise<void>;
  ensureLoaded: (messageId: string) => Promise<boolean>;
  onReply: (message: Message) => void;
  /** Absent where I may not stop replies (a viewer). */
  onStop?: (messageId: string) => void;
  onRetry: (clientMsgId: string) => void;
  onDiscard: (clientMsgId: string) => void;
  /** Speech: what is being said now, which replies can be played again, the one playing. */
  speaking?: Speaking | null;
  hasSpeech?: (message: Message) => boolean;
  playing?: string | null;
  onPlaySpeech?: (messageId: string) => void;
  onStopSpeech?: () => void;
}

/** Within this many pixels of the end counts as "at the end": new content keeps it there. */
const STICK_PX = 48;
/** Older pages load once the view is this close to the top. */
const LOAD_PX = 300;

/** How close in time two posts by one person must be to share a header. */
const GROUP_MS = 5 * 60_000;

function continues(prev: Message | undefined, m: Message): boolean {
  return (
    !!prev &&
    prev.author.id === m.author.id &&
    m.author.kind === "human" &&
    !m.reply_to &&
    Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_MS
  );
}

/**
 * The scrolling message list (role "log"). It follows new messages while the reader is at the
 * end, stays put otherwise, and keeps the reader's place (their distance from the end) when an
 * older page is prepended above.
 */
export function Timeline(props: Props) {
  const { messages, pending, meId, hasMore, loadingOlder, onLoadOlder, ensureLoaded } = props;
  const ref = useRef<HTMLDivElement>(null);
  const atEnd = useRef(true);
  const fromEnd = useRef(0);
  const firstId = useRef<string | undefined>(undefined);
  const [awayFromEnd, setAwayFromEnd] = useState(false);
  const [jumpTarget, setJumpTarget] = useState<string | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);

  const measure = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
    fromEnd.current = el.scrollHeight - el.scrollTop;
    setAwayFromEnd(!atEnd.current);
  }, []);

  const maybeLoadOlder = useCallback(() => {
    const el = ref.current;
    if (el && hasMore && !loadingOlder && el.scrollTop <= LOAD_PX) void onLoadOlder();
  }, [hasMore, loadingOlder, onLoadOlder]);

  const onScroll = () => {
    measure();
    maybeLoadOlder();
  };

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = messages[0]?.id;
    const prepended = first !== firstId.current && firstId.current !== undefined;
    firstId.current = first;
    if (atEnd.current) el.scrollTop = el.scrollHeight;
    else if (prepended) el.scrollTop = el.scrollHeight - fromEnd.current;
    if (jumpTarget) {
      const target = document.getElementById(`msg-${jumpTarget}`);
      if (target) {
        target.scrollIntoView?.({ block: "center" });
        target.focus({ preventScroll: true });
        setHighlight(jumpTarget);
        setJumpTarget(null);
      }
    }
    measure();
  });

  // A first page shorter than the view cannot be scrolled up: fetch more until it fills.
  useEffect(() => {
    const el = ref.current;
    if (el && props.loaded && el.scrollHeight <= el.clientHeight) maybeLoadOlder();
  }, [messages.length, props.loaded, maybeLoadOlder]);

  // Keep following the end when the view itself changes size (keyboard, composer growing).
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (atEnd.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!highlight) return;
    const timer = setTimeout(() => setHighlight(null), 2000);
    return () => clearTimeout(timer);
  }, [highlight]);

  const jump = useCallback(
    async (messageId: string) => {
      if (await ensureLoaded(messageId)) setJumpTarget(messageId);
    },
    [ensureLoaded],
  );

  const toEnd = () => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
    measure();
  };

  const byId = new Map(messages.map((m) => [m.id, m]));
  return (
    <div className="timeline-wrap">
      <div
        ref={ref}
        className="timeline"
        role="log"
        aria-label="Conversation"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must take focus so keyboards can scroll it
        tabIndex={0}
        onScroll={onScroll}
      >
        <div className="timeline-inner">
          <div className="history-edge">
            {!props.loaded && messages.length === 0 ? (
              <span className="hint">Loading…</span>
            ) : loadingOlder ? (
              <span className="hint">Loading earlier posts…</span>
            ) : hasMore ? (
              <button type="button" className="btn btn-quiet" onClick={() => void onLoadOlder()}>
                Load earlier
              </button>
            ) : props.loaded && messages.length > 0 ? (
              <span className="hint">Start of the conversation</span>
            ) : null}
          </div>
          {props.loaded && messages.length === 0 && pending.length === 0 && (
            <p className="empty hint">Nothing here yet. Say hello, or mention a persona with @.</p>
          )}
          {messages.map((m, i) => {
            // A reply right under what it answers needs no quote; further away it does.
            const replyTo = m.reply_to;
            const showQuote = replyTo && (m.author.kind !== "ai" || messages[i - 1]?.id !== replyTo);
            return (
              <MessageItem
                key={m.id}
                message={m}
                quoted={showQuote ? (byId.get(replyTo) ?? null) : undefined}
                mine={m.author.id === meId}
                continued={continues(messages[i - 1], m)}
                highlighted={highlight === m.id}
                onReply={props.onReply}
                onStop={props.onStop}
                onJump={jump}
                speakingIndex={props.speaking?.messageId === m.id ? props.speaking.index : null}
                hasSpeech={m.author.kind === "ai" && (props.hasSpeech?.(m) ?? false)}
                playing={props.playing === m.id}
                onPlaySpeech={props.onPlaySpeech}
                onStopSpeech={props.onStopSpeech}
              />
            );
          })}
          {pending.map((item) => (
            <PendingItem
              key={item.client_msg_id}
              item={item}
              meId={meId ?? ""}
              meName={props.meName}
              connected={props.connection === "connected"}
              onRetry={props.onRetry}
              onDiscard={props.onDiscard}
            />
          ))}
        </div>
      </div>
      {awayFromEnd && (
        <button type="button" className="btn jump-end" onClick={toEnd}>
          Jump to latest
        </button>
      )}
    </div>
  );
}
