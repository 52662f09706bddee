import { type FormEvent, useCallback, useEffect, useState } from "react";
import { ApiError } from "../api/api";
import type { ApiToken, NewApiToken } from "../api/types";
import { useFailure, useSession } from "../app/context";
import { CopyField } from "../ui/CopyField";
import { longTime } from "../ui/format";
import { BackIcon } from "../ui/icons";

const EXPIRY_CHOICES: { label: string; days: number | null }[] = [
  { label: "Never", days: null },
  { label: "7 days", days: 7 },
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 },
];

export const TOKEN_WARNING =
  "Copy it now: it is shown only this once. Anyone who has it can act as you until it expires or you revoke it.";

/** Personal API tokens for scripts and the CLI: list, create (shown once), revoke. */
export function TokensPage() {
  const { user, api } = useSession();
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const { error, setError, failed } = useFailure();
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("30");
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<NewApiToken | null>(null);

  const load = useCallback(() => {
    api.tokens().then(setTokens, failed);
  }, [api, failed]);

  useEffect(() => {
    if (user.kind === "user") load();
  }, [user.kind, load]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setShowErrors(true);
    if (!name.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const days = EXPIRY_CHOICES.find((c) => String(c.days) === expiry)?.days ?? null;
      const token = await api.createToken(name.trim(), days ?? undefined);
      setCreated(token);
      setName("");
      setShowErrors(false);
      load();
    } catch (e) {
      failed(e);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (token: ApiToken) => {
    setError(null);
    try {
      await api.revokeToken(token.id);
      setTokens((list) => list?.filter((t) => t.id !== token.id) ?? null);
      if (created?.id === token.id) setCreated(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) load();
      else failed(e);
    }
  };

  return (
    <section className="page" aria-labelledby="tokens-title">
      <div className="card form">
        <a href="#/" className="btn btn-quiet page-back">
          <BackIcon /> All rooms
        </a>
        <h2 id="tokens-title">API tokens</h2>
        <p className="hint">
          A personal token lets a script or the <code>chimera</code> CLI act as you (header{" "}
          <code>Authorization: Bearer …</code>). Keep it secret, like a password.
        </p>
        {user.kind !== "user" ? (
          <p className="notice-info">
            API tokens belong to accounts. Guests cannot create them: sign up for an account.
          </p>
        ) : (
          <>
            <form className="token-form" onSubmit={submit} noValidate aria-label="New token">
              <div className="field">
                <label htmlFor="token-name">Token name</label>
                <input
                  id="token-name"
                  value={name}
                  maxLength={64}
                  placeholder="laptop CLI"
                  onChange={(e) => setName(e.target.value)}
                  aria-invalid={showErrors && !name.trim()}
                  aria-describedby={showErrors && !name.trim() ? "token-name-error" : undefined}
                />
                {showErrors && !name.trim() && (
                  <p id="token-name-error" className="field-error">
                    Name the token (where it will be used).
                  </p>
                )}
              </div>
              <div className="field">
                <label htmlFor="token-expiry">Expires</label>
                <select id="token-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
                  {EXPIRY_CHOICES.map((c) => (
                    <option key={c.label} value={String(c.days)}>
                      {c.days === null ? c.label : `In ${c.label}`}
                    </option>
                  ))}
                </select>
              </div>
              <button type="submit" className="btn btn-primary" disabled={busy}>
                Create token
              </button>
            </form>
            {created && (
              <section className="secret-once" aria-label="Your new token">
                <CopyField
                  label={`New token “${created.name}”`}
                  value={created.token}
                  copyLabel="Copy token"
                  warning={TOKEN_WARNING}
                />
                <button type="button" className="btn" onClick={() => setCreated(null)}>
                  Done, hide it
                </button>
              </section>
            )}
            {error && (
              <p role="alert" className="form-error">
                {error}
              </p>
            )}
            <h3>Your tokens</h3>
            {tokens === null ? (
              <p className="hint">Loading…</p>
            ) : tokens.length === 0 ? (
              <p className="hint">No tokens yet.</p>
            ) : (
              <ul className="item-list" aria-label="Your tokens">
                {tokens.map((t) => (
                  <li key={t.id}>
                    <div className="item-text">
                      <span className="item-name">{t.name}</span>
                      <span className="hint">
                        Created {longTime(t.created_at)} · expires {longTime(t.expires_at)} · last used{" "}
                        {longTime(t.last_used_at)}
                      </span>
                    </div>
                    <button
                      type="button"
                      className="btn btn-danger"
                      aria-label={`Revoke ${t.name}`}
                      onClick={() => void revoke(t)}
                    >
                      Revoke
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
    </section>
  );
}
