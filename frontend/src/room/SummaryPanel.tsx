import { useId, useState } from "react";
import type { Room } from "../api/types";
import { useSession } from "../app/context";
import { Markdown } from "../markdown/Markdown";
import { shortTime } from "../ui/format";

interface Props {
  room: Room;
}

/** The room's rolling summary, and a button to post a summary with decisions and action items. */
export function SummaryPanel({ room }: Props) {
  const { api } = useSession();
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const summary = room.summary;

  const post = async () => {
    setBusy(true);
    setResult(null);
    try {
      await api.summarize(room.id);
      setResult({ ok: true, text: "Posted to the room." });
    } catch (e) {
      setResult({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="summary-panel" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Summary</h3>
      {summary ? (
        <>
          <p className="hint">
            Messages up to #{summary.upto_seq}, as of {shortTime(summary.updated_at)}. Personas read it instead of the
            messages that no longer fit.
          </p>
          <div className="summary-text">
            <Markdown source={summary.text} />
          </div>
        </>
      ) : (
        <p className="hint">None yet: it is written once the conversation outgrows a persona's context.</p>
      )}
      <div className="summary-actions">
        <button type="button" className="btn" onClick={post} disabled={busy}>
          {busy ? "Summarizing…" : "Post a summary now"}
        </button>
        <span className="hint">Or send /summary in the room.</span>
      </div>
      {result && (
        <p role={result.ok ? undefined : "alert"} className={result.ok ? "hint" : "form-error"}>
          {result.text}
        </p>
      )}
    </section>
  );
}
