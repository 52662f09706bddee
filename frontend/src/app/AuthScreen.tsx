import { type FormEvent, type KeyboardEvent, useId, useRef, useState } from "react";
import { ApiError, continueAsGuest, login, register } from "../api/api";
import type { AuthResult, Me } from "../api/types";
import type { SignOutReason } from "./context";
import { lastName } from "./session";

export type AuthMode = "signin" | "register" | "guest";

const MODES: { mode: AuthMode; label: string }[] = [
  { mode: "signin", label: "Sign in" },
  { mode: "register", label: "Create account" },
  { mode: "guest", label: "Guest" },
];

const USERNAME = /^[a-z0-9_.-]{3,32}$/i;
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;

const REASONS: Record<SignOutReason, string> = {
  user: "You are signed out.",
  expired: "Your session has expired. Sign in again to continue.",
  ended: "You were signed out: your session was ended elsewhere. Sign in again to continue.",
};

interface Props {
  onSignedIn: (user: Me) => void;
  /** Why we are here again, if we were signed in before. */
  reason: SignOutReason | null;
  /** An invite link is waiting: it is accepted once signed in. */
  invite: boolean;
}

/** What a failed sign-in says; a few codes read better than the server's words. */
export function authErrorText(error: unknown, mode: AuthMode): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.status === 429) {
    const wait = error.retryAfter ? ` Try again in ${formatWait(error.retryAfter)}.` : " Try again later.";
    return `Too many attempts.${wait}`;
  }
  if (mode === "guest" && error.status === 403) {
    return "Guests are not allowed on this server. Sign in or create an account instead.";
  }
  if (mode === "register" && error.status === 409) return "That username is taken. Choose another.";
  if (mode === "signin" && error.status === 401) return "Invalid username or password.";
  return error.message;
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

/** Sign in, create an account, or continue as a guest (where the server admits guests). */
export function AuthScreen({ onSignedIn, reason, invite }: Props) {
  const id = useId();
  const [mode, setMode] = useState<AuthMode>("signin");
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);

  const onTabKey = (event: KeyboardEvent, index: number) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    const next = (index + step + MODES.length) % MODES.length;
    setMode(MODES[next].mode);
    tabs.current[next]?.focus();
  };

  return (
    <main className="welcome">
      <div className="card welcome-card auth-card">
        <h1>Chimera</h1>
        {invite ? (
          <p className="notice-info" role="status">
            You have been invited to a room. Sign in, create an account or continue as a guest to join it.
          </p>
        ) : reason ? (
          <p className={reason === "user" ? "hint" : "notice-info"} role="status">
            {REASONS[reason]}
          </p>
        ) : (
          <p className="hint">Rooms where people and AI personas talk.</p>
        )}
        <div className="tabs" role="tablist" aria-label="How to sign in">
          {MODES.map((m, i) => (
            <button
              key={m.mode}
              ref={(el) => {
                tabs.current[i] = el;
              }}
              type="button"
              role="tab"
              id={`${id}-tab-${m.mode}`}
              aria-selected={mode === m.mode}
              aria-controls={`${id}-panel`}
              tabIndex={mode === m.mode ? 0 : -1}
              className="tab"
              onClick={() => setMode(m.mode)}
              onKeyDown={(e) => onTabKey(e, i)}
            >
              {m.label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${mode}`}>
          {mode === "guest" ? (
            <GuestForm key="guest" onSignedIn={onSignedIn} />
          ) : (
            <AccountForm key={mode} mode={mode} onSignedIn={onSignedIn} />
          )}
        </div>
      </div>
    </main>
  );
}

function AccountForm({ mode, onSignedIn }: { mode: "signin" | "register"; onSignedIn: (user: Me) => void }) {
  const id = useId();
  const [username, setUsername] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState(false);
  const registering = mode === "register";

  const usernameError = !username.trim()
    ? "Enter your username."
    : registering && !USERNAME.test(username.trim())
      ? "3–32 characters: letters, digits, “_”, “.” and “-”."
      : null;
  const passwordError = !password
    ? "Enter your password."
    : registering && password.length < MIN_PASSWORD
      ? `At least ${MIN_PASSWORD} characters.`
      : registering && password.length > MAX_PASSWORD
        ? `At most ${MAX_PASSWORD} characters.`
        : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setShown(true);
    if (usernameError || passwordError) return;
    setBusy(true);
    setError(null);
    try {
      const result: AuthResult = registering
        ? await register(username.trim(), password, name.trim() || undefined)
        : await login(username.trim(), password);
      onSignedIn(result.user);
    } catch (e) {
      setError(authErrorText(e, mode));
      setBusy(false);
    }
  };

  const fieldError = (text: string | null, which: string) =>
    shown && text ? (
      <p id={`${id}-${which}-error`} className="field-error">
        {text}
      </p>
    ) : null;

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={registering ? "Create account" : "Sign in"}>
      <div className="field">
        <label htmlFor={`${id}-username`}>Username</label>
        <input
          id={`${id}-username`}
          value={username}
          maxLength={32}
          autoComplete="username"
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          // biome-ignore lint/a11y/noAutofocus: the sign-in screen is a page of its own; its first field is where everyone starts
          autoFocus
          onChange={(e) => setUsername(e.target.value)}
          aria-invalid={shown && !!usernameError}
          aria-describedby={shown && usernameError ? `${id}-username-error` : undefined}
        />
        {fieldError(usernameError, "username")}
      </div>
      {registering && (
        <div className="field">
          <label htmlFor={`${id}-name`}>Display name</label>
          <input
            id={`${id}-name`}
            value={name}
            maxLength={64}
            autoComplete="nickname"
            onChange={(e) => setName(e.target.value)}
            aria-describedby={`${id}-name-hint`}
          />
          <p id={`${id}-name-hint`} className="hint">
            What others see. Optional: your username otherwise.
          </p>
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          type="password"
          value={password}
          maxLength={MAX_PASSWORD}
          autoComplete={registering ? "new-password" : "current-password"}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={shown && !!passwordError}
          aria-describedby={shown && passwordError ? `${id}-password-error` : undefined}
        />
        {fieldError(passwordError, "password")}
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {registering ? "Create account" : "Sign in"}
      </button>
    </form>
  );
}

function GuestForm({ onSignedIn }: { onSignedIn: (user: Me) => void }) {
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
      onSignedIn((await continueAsGuest(trimmed)).user);
    } catch (e) {
      setError(authErrorText(e, "guest"));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Continue as guest">
      <p className="hint">
        No account needed: choose the name others see. Guests can only join rooms that admit guests.
      </p>
      <div className="field">
        <label htmlFor="display-name">Display name</label>
        <input
          id="display-name"
          value={name}
          maxLength={64}
          autoComplete="nickname"
          // biome-ignore lint/a11y/noAutofocus: the guest tab's only field; the tab was just chosen
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
        Continue as guest
      </button>
    </form>
  );
}
