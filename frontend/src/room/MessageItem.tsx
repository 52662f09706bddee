import { type CSSProperties, memo } from "react";
import type { Message } from "../api/types";
import { Markdown } from "../markdown/Markdown";
import { hue, initials, shortTime, snippet } from "../ui/format";
import { PlayIcon, ReplyIcon, SpeakerIcon, StopIcon } from "../ui/icons";

interface Props {
  message: Message;
  /** The message this one answers, when it should be quoted (null: not held yet). */
  quoted: Message | null | undefined;
  mine: boolean;
  /** Same author as the message above, shortly after: shown without repeating the header. */
  continued: boolean;
  highlighted: boolean;
  onReply: (message: Message) => void;
  /** Absent where I may not stop replies (a viewer). */
  onStop?: (messageId: string) => void;
  onJump: (messageId: string) => void;
  /** The index of its sentence being said now (live or from its recording), else null. */
  speakingIndex?: number | null;
  /** Whether it has speech to play again (a play button); its recording is playing. */
  hasSpeech?: boolean;
  playing?: boolean;
  onPlaySpeech?: (messageId: string) => void;
  onStopSpeech?: () => void;
}

export function Avatar({ id, name, ai }: { id: string; name: string; ai: boolean }) {
  return (
    <span
      className={ai ? "avatar avatar-ai" : "avatar"}
      style={{ "--hue": hue(id) } as CSSProperties}
      aria-hidden="true"
    >
      {initials(name)}
    </span>
  );
}

function usageTitle(m: Message): string | undefined {
  const parts: string[] = [];
  if (m.usage) parts.push(`${m.usage.completion_tokens} tokens out, ${m.usage.prompt_tokens} in`);
  if (m.timing) parts.push(`first token ${m.timing.time_to_first_token_ms} ms, total ${m.timing.total_ms} ms`);
  return parts.length ? parts.join("; ") : undefined;
}

/** One message in the timeline. */
export const MessageItem = memo(function MessageItem(props: Props) {
  const { message: m, quoted, mine, continued, highlighted, onReply, onStop, onJump } = props;
  const speakingIndex = props.speakingIndex ?? null;
  const speaking = speakingIndex !== null;
  const ai = m.author.kind === "ai";
  const streaming = m.status === "streaming";
  const queued = m.status === "queued";
  const thinking = streaming && m.content === "";
  return (
    <article
      id={`msg-${m.id}`}
      className={`msg${mine ? " msg-mine" : ""}${continued ? " msg-continued" : ""}${highlighted ? " msg-highlight" : ""}${speaking ? " msg-speaking" : ""}`}
      data-status={m.status}
      data-speaking={speaking ? speakingIndex : undefined}
      data-seq={m.seq}
      data-kind={m.author.kind}
      aria-busy={streaming || queued}
      aria-labelledby={`msg-${m.id}-author`}
      tabIndex={-1}
    >
      {continued ? <span aria-hidden="true" /> : <Avatar id={m.author.id} name={m.author.name} ai={ai} />}
      <div className="msg-body">
        <header className="msg-head">
          <span className={continued ? "msg-author sr-only" : "msg-author"} id={`msg-${m.id}-author`}>
            {m.author.name}
          </span>
          {ai && (
            <span className="msg-model" title={usageTitle(m)}>
              {m.author.handle ? `@${m.author.handle}` : "AI"}
              {m.model ? ` · ${m.model}` : ""}
            </span>
          )}
          <time dateTime={m.created_at} title={new Date(m.created_at).toLocaleString()}>
            {shortTime(m.created_at)}
          </time>
          {speaking && (
            <span className="msg-speaking-mark" role="img" aria-label={`Speaking, sentence ${speakingIndex + 1}`}>
              <SpeakerIcon />
            </span>
          )}
          {props.hasSpeech && props.onPlaySpeech && (
            <button
              type="button"
              className="icon-btn msg-play"
              onClick={() => (props.playing ? props.onStopSpeech?.() : props.onPlaySpeech?.(m.id))}
              aria-label={props.playing ? `Stop listening to ${m.author.name}` : `Listen to ${m.author.name}`}
              title={props.playing ? "Stop listening" : "Listen"}
              aria-pressed={props.playing ?? false}
            >
              {props.playing ? <StopIcon /> : <PlayIcon />}
            </button>
          )}
          <button
            type="button"
            className="icon-btn msg-reply"
            onClick={() => onReply(m)}
            aria-label={`Reply to ${m.author.name}`}
            title="Reply"
          >
            <ReplyIcon />
          </button>
        </header>
        {m.reply_to && quoted !== undefined && <Quote id={m.reply_to} quoted={quoted} onJump={onJump} />}
        {queued ? (
          <div className="thinking queued">
            {m.queue_position ? `Queued (#${m.queue_position})` : "Queued"} — waiting for a free model slot
          </div>
        ) : thinking ? (
          <div className="thinking">
            <span className="dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            Thinking…
          </div>
        ) : (
          m.content && <Markdown source={m.content} />
        )}
        {m.status === "interrupted" && (
          <p className="msg-state msg-state-stopped">
            {m.content ? "Stopped" : "Stopped before answering"}
            {m.error ? `: ${m.error}` : "."}
          </p>
        )}
        {m.speech?.error && <p className="msg-state msg-state-speech">Speech failed: {m.speech.error}</p>}
        {m.status === "error" && (
          <p className="msg-state msg-state-error">Failed: {m.error || "the model gave no reason."}</p>
        )}
        {(streaming || queued) && ai && onStop && (
          <button type="button" className="btn btn-stop" onClick={() => onStop(m.id)}>
            <StopIcon /> Stop
          </button>
        )}
      </div>
    </article>
  );
});

function Quote({ id, quoted, onJump }: { id: string; quoted: Message | null; onJump: (id: string) => void }) {
  const text = quoted ? snippet(quoted.content) || "…" : "an earlier post";
  return (
    <button
      type="button"
      className="quote"
      onClick={() => onJump(id)}
      aria-label={quoted ? `In reply to ${quoted.author.name}: ${text}` : "In reply to an earlier post"}
    >
      {quoted && <span className="quote-author">{quoted.author.name}</span>}
      <span className="quote-text">{text}</span>
    </button>
  );
}
