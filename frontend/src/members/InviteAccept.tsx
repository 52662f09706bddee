import { useEffect, useState } from "react";
import { type Api, ApiError } from "../api/api";
import type { Room } from "../api/types";
import { useSession } from "../app/context";
import { navigate, roomHref } from "../app/route";

/** One accept per token at a time (a remount must not send a second one). */
const pending = new Map<string, Promise<Room>>();

function acceptOnce(api: Api, token: string): Promise<Room> {
  let run = pending.get(token);
  if (!run) {
    run = api.acceptInvite(token).finally(() => pending.delete(token));
    pending.set(token, run);
  }
  return run;
}

type Outcome = { state: "accepting" } | { state: "invalid" } | { state: "failed"; message: string };

/** `#/invite/<token>`: accept the invite (we are signed in by now) and open the room. */
export function InviteAccept({ token, onJoined }: { token: string; onJoined: (room: Room) => void }) {
  const { api, user, signOut, refreshRooms } = useSession();
  const [outcome, setOutcome] = useState<Outcome>({ state: "accepting" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    setOutcome({ state: "accepting" });
    acceptOnce(api, token).then(
      (room) => {
        if (!live) return;
        onJoined(room);
        refreshRooms();
        // The link holds a secret: replace it in the history with the room.
        navigate(roomHref(room.id), { replace: true });
      },
      (e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 401) signOut("expired");
        else if (e instanceof ApiError && e.status === 404) setOutcome({ state: "invalid" });
        else setOutcome({ state: "failed", message: e instanceof Error ? e.message : String(e) });
      },
    );
    return () => {
      live = false;
    };
  }, [api, token, attempt, onJoined, refreshRooms, signOut]);

  return (
    <section className="page" aria-labelledby="invite-title">
      <div className="card">
        {outcome.state === "accepting" && (
          <>
            <h2 id="invite-title">Joining the room…</h2>
            <p className="hint" role="status">
              Accepting the invite.
            </p>
          </>
        )}
        {outcome.state === "invalid" && (
          <>
            <h2 id="invite-title">This invite cannot be used</h2>
            <p role="alert" className="form-error">
              The invite link is invalid or no longer valid: it may have expired, been used up or been revoked.
            </p>
            <p className="hint">
              {user.kind === "guest"
                ? "You are a guest: the room may not admit guests. Sign in with an account, or ask the room’s owner for a new invite."
                : "Ask the room’s owner for a new one."}
            </p>
            <a className="btn" href="#/">
              Back to rooms
            </a>
          </>
        )}
        {outcome.state === "failed" && (
          <>
            <h2 id="invite-title">Could not accept the invite</h2>
            <p role="alert" className="form-error">
              {outcome.message}
            </p>
            <button type="button" className="btn btn-primary" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </>
        )}
      </div>
    </section>
  );
}
