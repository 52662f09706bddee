import type { OutboxItem } from "../api/types";
import { Markdown } from "../markdown/Markdown";
import { Avatar } from "./MessageItem";

interface Props {
  item: OutboxItem;
  meId: string;
  meName: string;
  connected: boolean;
  onRetry: (clientMsgId: string) => void;
  onDiscard: (clientMsgId: string) => void;
}

/** A message composed here that the server has not acknowledged yet. */
export function PendingItem({ item, meId, meName, connected, onRetry, onDiscard }: Props) {
  return (
    <article
      className="msg msg-mine msg-pending"
      data-status={item.error ? "failed" : "pending"}
      data-client-msg-id={item.client_msg_id}
      aria-label={`${meName}, ${item.error ? "not sent" : "pending"}`}
    >
      <Avatar id={meId} name={meName} ai={false} />
      <div className="msg-body">
        <header className="msg-head">
          <span className="msg-author">{meName}</span>
          <span className="msg-pending-label">
            {item.error ? "Not sent" : connected ? "Sending…" : "Pending — sends when reconnected"}
          </span>
        </header>
        <Markdown source={item.content} />
        {item.error && (
          <div className="msg-state msg-state-error">
            <span>{item.error}</span>
            <button type="button" className="btn btn-quiet" onClick={() => onRetry(item.client_msg_id)}>
              Retry
            </button>
            <button type="button" className="btn btn-quiet" onClick={() => onDiscard(item.client_msg_id)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </article>
  );
}
