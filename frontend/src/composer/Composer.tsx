import {
  type FormEvent,
  type KeyboardEvent,
  type Ref,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import type { Message, Persona, User } from "../api/types";
import { snippet } from "../ui/format";
import { CloseIcon, SendIcon } from "../ui/icons";
import { applyMention, type MentionCandidate, mentionCandidates, mentionQuery } from "./mentions";
import { TypingSignal } from "./typing";

export const MAX_MESSAGE_CHARS = 16_000;

interface Props {
  personas: Persona[];
  people: User[];
  meId: string | null;
  replyTo: Message | null;
  onCancelReply: () => void;
  onSend: (content: string, replyTo: string | null) => void;
  onTyping: (active: boolean) => void;
  inputRef?: Ref<HTMLTextAreaElement>;
}

/** The message box: Enter sends, Shift+Enter breaks the line, `@` suggests who to mention. */
export function Composer(props: Props) {
  const { personas, people, meId, replyTo, onCancelReply, onSend, onTyping } = props;
  const id = useId();
  const listId = `${id}-mentions`;
  const box = useRef<HTMLTextAreaElement | null>(null);
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const nextCaret = useRef<number | null>(null);

  const signal = useMemo(() => new TypingSignal((on) => onTyping(on)), [onTyping]);
  useEffect(() => () => signal.stop(), [signal]);

  const query = mentionQuery(text, caret);
  const candidates: MentionCandidate[] =
    query && dismissed !== query.start ? mentionCandidates(query.query, personas, people, meId) : [];
  const open = query !== null && candidates.length > 0;
  const selected = open ? Math.min(active, candidates.length - 1) : -1;

  useEffect(() => setActive(0), [query?.query, query?.start]);

  // Grow with the text up to a limit, then scroll; put the caret back after a pick.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "auto";
    if (text) el.style.height = `${Math.min(el.scrollHeight, 220)}px`;
    if (nextCaret.current !== null) {
      el.setSelectionRange(nextCaret.current, nextCaret.current);
      nextCaret.current = null;
    }
  }, [text]);

  const setRefs = (el: HTMLTextAreaElement | null) => {
    box.current = el;
    const outer = props.inputRef;
    if (typeof outer === "function") outer(el);
    else if (outer) outer.current = el;
  };

  const pick = (candidate: MentionCandidate) => {
    if (!query) return;
    const result = applyMention(text, query, candidate);
    setText(result.text);
    setCaret(result.caret);
    nextCaret.current = result.caret;
  };

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content) return;
    onSend(content, replyTo?.id ?? null);
    setText("");
    setCaret(0);
    setDismissed(null);
    signal.stop();
    onCancelReply();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((selected + step + candidates.length) % candidates.length);
        return;
      }
      if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
        event.preventDefault();
        pick(candidates[selected]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        setDismissed(query.start);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && replyTo) {
      event.preventDefault();
      onCancelReply();
    }
  };

  return (
    <form className="composer" onSubmit={submit}>
      {replyTo && (
        <div className="replying">
          <span className="replying-text">
            Replying to <b>{replyTo.author.name}</b>
            {replyTo.content ? `: ${snippet(replyTo.content, 60)}` : ""}
          </span>
          <button type="button" className="icon-btn" aria-label="Cancel reply" onClick={onCancelReply}>
            <CloseIcon />
          </button>
        </div>
      )}
      {/* The combobox pattern: focus stays in the textarea (aria-activedescendant), options take no tab stop. */}
      {open && (
        // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: a listbox of options, styled as a list
        <ul className="mention-menu" role="listbox" id={listId} aria-label="Mention suggestions">
          {candidates.map((c, i) => (
            // biome-ignore lint/a11y/useFocusableInteractive: focus stays in the textarea (see above)
            <li
              key={c.key}
              id={`${listId}-${i}`}
              // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: an option of the listbox above
              role="option"
              aria-selected={i === selected}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(c);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="mention-label">{c.label}</span>
              <span className="mention-detail">{c.detail}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        <textarea
          ref={setRefs}
          aria-label="Message"
          rows={1}
          value={text}
          maxLength={MAX_MESSAGE_CHARS}
          placeholder="Write a message, @ to mention"
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${selected}` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setCaret(e.target.selectionStart ?? e.target.value.length);
            setDismissed((d) => (d !== null && d < e.target.value.length ? d : null));
            signal.input(e.target.value.trim() === "");
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
          onBlur={() => signal.stop()}
        />
        <button type="submit" className="send" aria-label="Send" title="Send (Enter)" disabled={!text.trim()}>
          <SendIcon />
        </button>
      </div>
    </form>
  );
}
