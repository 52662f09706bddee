import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { InviteOptions } from "../api/api";
import type { Invite, InviteRole, NewInvite } from "../api/types";
import { useFailure, useSession } from "../app/context";
import { inviteHref } from "../app/route";
import { CopyField } from "../ui/CopyField";
import { Dialog } from "../ui/Dialog";
import { longTime } from "../ui/format";

const EXPIRY_CHOICES: { label: string; hours: number | null }[] = [
  { label: "In 1 hour", hours: 1 },
  { label: "In 1 day", hours: 24 },
  { label: "In 7 days", hours: 24 * 7 },
  { label: "In 30 days", hours: 24 * 30 },
  { label: "Never", hours: null },
];

export const INVITE_WARNING =
  "Copy it now: the link is shown only this once. Anyone who has it can join this room until it expires, is used up or is revoked.";

/** The link to share: the server's, or one built from this page's address. */
export function inviteUrl(invite: NewInvite, location: Location = window.location): string {
  if (invite.url) return invite.url;
  return `${location.origin}${location.pathname}${inviteHref(invite.token)}`;
}

function describe(invite: Invite): string {
  const role = invite.role === "viewer" ? "Viewer" : "Member";
  const uses = invite.max_uses === null ? `${invite.uses} used` : `${invite.uses} of ${invite.max_uses} used`;
  return `${role} · ${uses} · expires ${longTime(invite.expires_at)}`;
}

/** The owner's invite links: create one (its link shown once), see and revoke the others. */
export function InvitesDialog({
  roomId,
  roomName,
  onClose,
}: {
  roomId: string;
  roomName: string;
  onClose: () => void;
}) {
  const { api } = useSession();
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [created, setCreated] = useState<NewInvite | null>(null);
  const [role, setRole] = useState<InviteRole>("member");
  const [maxUses, setMaxUses] = useState("");
  const [expiry, setExpiry] = useState(String(24 * 7));
  const [busy, setBusy] = useState(false);
  const { error, setError, failed } = useFailure();

  const load = useCallback(() => {
    api.invites(roomId).then(setInvites, failed);
  }, [api, roomId, failed]);

  useEffect(load, [load]);

  const uses = maxUses.trim() === "" ? null : Number(maxUses);
  const usesError =
    uses !== null && (!Number.isInteger(uses) || uses < 1) ? "A whole number, 1 or more (or empty)." : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (usesError) return;
    const options: InviteOptions = { role };
    if (uses !== null) options.max_uses = uses;
    const hours = EXPIRY_CHOICES.find((c) => String(c.hours) === expiry)?.hours ?? null;
    if (hours !== null) options.expires_in_hours = hours;
    setBusy(true);
    setError(null);
    try {
      setCreated(await api.createInvite(roomId, options));
      load();
    } catch (e) {
      failed(e);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (invite: Invite) => {
    setError(null);
    try {
      await api.revokeInvite(roomId, invite.id);
      setInvites((list) => list?.filter((i) => i.id !== invite.id) ?? null);
      if (created?.id === invite.id) setCreated(null);
    } catch (e) {
      failed(e);
    }
  };

  return (
    <Dialog title={`Invite people to ${roomName}`} onClose={onClose}>
      <form className="form invite-form" onSubmit={submit} noValidate aria-label="New invite">
        <div className="invite-grid">
          <div className="field">
            <label htmlFor="invite-role">Joins as</label>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as InviteRole)}>
              <option value="member">Member (can post)</option>
              <option value="viewer">Viewer (read only)</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="invite-uses">Max uses</label>
            <input
              id="invite-uses"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              placeholder="Unlimited"
              value={maxUses}
              onChange={(e) => setMaxUses(e.target.value)}
              aria-invalid={!!usesError}
              aria-describedby={usesError ? "invite-uses-error" : undefined}
            />
            {usesError && (
              <p id="invite-uses-error" className="field-error">
                {usesError}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor="invite-expiry">Expires</label>
            <select id="invite-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY_CHOICES.map((c) => (
                <option key={c.label} value={String(c.hours)}>
                  {c.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div>
          <button type="submit" className="btn btn-primary" disabled={busy || !!usesError}>
            Create invite link
          </button>
        </div>
      </form>
      {created && (
        <section className="secret-once" aria-label="New invite link">
          <CopyField label="Invite link" value={inviteUrl(created)} copyLabel="Copy link" warning={INVITE_WARNING} />
        </section>
      )}
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <h3 className="dialog-subtitle">Invites</h3>
      {invites === null ? (
        <p className="hint">Loading…</p>
      ) : invites.length === 0 ? (
        <p className="hint">None.</p>
      ) : (
        <ul className="item-list" aria-label="Invites">
          {invites.map((invite) => (
            <li key={invite.id}>
              <div className="item-text">
                <span className="item-name">{describe(invite)}</span>
                <span className="hint">Created {longTime(invite.created_at)}</span>
              </div>
              <button type="button" className="btn btn-danger" onClick={() => void revoke(invite)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
