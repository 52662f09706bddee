import type { FormEvent } from "react";
import type { Room } from "../api/types";
import { useSession } from "../app/context";
import { navigate, roomHref } from "../app/route";
import { fromDraft } from "./personas";
import { NEW_ROOM, RoomFields, useRoomForm } from "./RoomForm";

/** The form that creates a room, optionally with personas. */
export function CreateRoom({ onCreated }: { onCreated: (room: Room) => void }) {
  const { api, user } = useSession();
  const form = useRoomForm(api, NEW_ROOM);
  const guest = user.kind === "guest";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    form.revealErrors();
    if (!form.valid) return;
    const { name, personas, access, allowGuests } = form.draft;
    await form.save(async () => {
      const room = await api.createRoom(name.trim(), personas.map(fromDraft), {
        access,
        allow_guests: allowGuests || guest,
      });
      onCreated(room);
      navigate(roomHref(room.id));
    });
  };

  return (
    <section className="page" aria-labelledby="create-room-title">
      <form className="card form" onSubmit={submit} noValidate>
        <h2 id="create-room-title">New room</h2>
        <RoomFields form={form} nameId="room-name" placeholder="Design review" guestOwner={guest} />
        {form.error && (
          <p role="alert" className="form-error">
            {form.error}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={form.busy}>
            Create room
          </button>
        </div>
      </form>
    </section>
  );
}
