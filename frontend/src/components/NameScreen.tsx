import { useState, type FormEvent } from "react";
import { createSession } from "../api";
import { lastName } from "../app/session";
import type { Session } from "../types";

/** First visit (or an expired token): choose the name others see. */
export function NameScreen({ onSession, expired }: { onSession: (s: Session) => void; expired: boolean }) {
  const [name, setName] = useState(lastName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setError("Enter a name.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSession(await createSession(trimmed));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <main className="welcome">
      <form className="card form welcome-card" onSubmit={submit} noValidate>
        <h1>Chimera</h1>
        <p className="hint">
          {expired ? "Your session ended. Choose a name to continue." : "Rooms where people and AI personas talk."}
        </p>
        <div className="field">
          <label htmlFor="display-name">Display name</label>
          <input
            id="display-name"
            value={name}
            maxLength={64}
            autoComplete="nickname"
            autoFocus
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!!error}
            aria-describedby={error ? "display-name-error" : undefined}
          />
          {error && (
            <p id="display-name-error" role="alert" className="field-error">
              {error}
            </p>
          )}
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Continue
        </button>
      </form>
    </main>
  );
}
