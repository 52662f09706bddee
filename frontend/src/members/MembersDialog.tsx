import { useCallback, useEffect, useState } from "react";
import type { Member, RoomRole } from "../api/types";
import { useFailure, useSession } from "../app/context";
import { navigate } from "../app/route";
import { Avatar } from "../room/MessageItem";
import { Dialog } from "../ui/Dialog";

const ROLE_LABELS: Record<RoomRole, string> = { owner: "Owner", member: "Member", viewer: "Viewer" };
const ROLE_ORDER: Record<RoomRole, number> = { owner: 0, member: 1, viewer: 2 };

interface Props {
  roomId: string;
  roomName: string;
  /** My role here: only an owner may change roles and remove others. */
  myRole: RoomRole | null | undefined;
  onClose: () => void;
}

/** Who belongs to the room and with what role; the owner manages them, anyone can leave. */
export function MembersDialog({ roomId, roomName, myRole, onClose }: Props) {
  const { api, user, refreshRooms } = useSession();
  const [members, setMembers] = useState<Member[] | null>(null);
  const { error, setError, failed } = useFailure();
  const [busy, setBusy] = useState<string | null>(null);
  const owner = myRole === "owner";

  const load = useCallback(() => {
    api.members(roomId).then(setMembers, failed);
  }, [api, roomId, failed]);

  useEffect(load, [load]);

  const act = async (userId: string, run: () => Promise<void>) => {
    setBusy(userId);
    setError(null);
    try {
      await run();
    } catch (e) {
      failed(e);
      load();
    } finally {
      setBusy(null);
    }
  };

  const changeRole = (member: Member, role: RoomRole) =>
    act(member.user.id, async () => {
      const updated = await api.setRole(roomId, member.user.id, role);
      setMembers(
        (list) => list?.map((m) => (m.user.id === member.user.id ? { ...m, ...updated, user: m.user } : m)) ?? null,
      );
    });

  const remove = (member: Member) =>
    act(member.user.id, async () => {
      await api.removeMember(roomId, member.user.id);
      setMembers((list) => list?.filter((m) => m.user.id !== member.user.id) ?? null);
    });

  const leave = () =>
    act(user.id, async () => {
      await api.removeMember(roomId, user.id);
      refreshRooms();
      onClose();
      navigate("#/");
    });

  const sorted = members
    ? [...members].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.user.name.localeCompare(b.user.name))
    : null;

  return (
    <Dialog title={`Members of ${roomName}`} onClose={onClose}>
      {sorted === null && !error && <p className="hint">Loading…</p>}
      {sorted && (
        <ul className="item-list members" aria-label="Members">
          {sorted.map((m) => {
            const me = m.user.id === user.id;
            return (
              <li key={m.user.id}>
                <Avatar id={m.user.id} name={m.user.name} ai={false} />
                <div className="item-text">
                  <span className="item-name">
                    {m.user.name}
                    {me && <span className="hint"> (you)</span>}
                    {m.guest && <span className="badge">guest</span>}
                  </span>
                  {!(owner && !me) && <span className="hint">{ROLE_LABELS[m.role]}</span>}
                </div>
                {owner && !me ? (
                  <>
                    <select
                      aria-label={`Role of ${m.user.name}`}
                      value={m.role}
                      disabled={busy === m.user.id}
                      onChange={(e) => void changeRole(m, e.target.value as RoomRole)}
                    >
                      {(Object.keys(ROLE_LABELS) as RoomRole[]).map((role) => (
                        <option key={role} value={role}>
                          {ROLE_LABELS[role]}
                        </option>
                      ))}
                    </select>
                    <button
                      type="button"
                      className="btn btn-danger"
                      aria-label={`Remove ${m.user.name}`}
                      disabled={busy === m.user.id}
                      onClick={() => void remove(m)}
                    >
                      Remove
                    </button>
                  </>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <div className="form-actions">
        {myRole && (
          <button type="button" className="btn btn-danger" disabled={busy === user.id} onClick={() => void leave()}>
            Leave room
          </button>
        )}
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
