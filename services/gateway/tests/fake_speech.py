"""The fake room service's speech: sentences published as SpeechEvents, stored for GetSpeech."""

from __future__ import annotations

import threading

import grpc

from services.common.pb import room_pb2 as pb


class FakeSpeech:
    """Speech of AI replies, mixed into FakeRooms (which has the rooms, roles and streams)."""

    lock: threading.Lock

    def __init__(self) -> None:
        self.spoken: dict[str, list[pb.SpeechEvent]] = {}  # by message id, in order
        self.spoken_in: dict[str, str] = {}  # message id -> room id

    def _role(self, room_id: str, user_id: str) -> int | None:
        raise NotImplementedError

    def _push(self, room_id: str, event: pb.SessionEvent) -> None:
        raise NotImplementedError

    def speak(self, room_id: str, event: pb.SpeechEvent, *, broadcast: bool = True) -> None:
        """A sentence of a reply spoken: stored, and sent on every stream unless broadcast=False
        (spoken while no stream was there to hear it)."""
        with self.lock:
            self.spoken.setdefault(event.message_id, []).append(event)
            self.spoken_in[event.message_id] = room_id
            if broadcast:
                self._push(room_id, pb.SessionEvent(speech=event))

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        """Under the lock: the sentences so far of the room's replies not spoken to the end."""
        return [
            event
            for message_id, events in self.spoken.items()
            if self.spoken_in[message_id] == room_id and not events[-1].final
            for event in events
        ]

    def GetSpeech(self, request, context):  # type: ignore[no-untyped-def]
        if self._role(request.room_id, request.actor.id) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "Room not found.")
        with self.lock:
            here = self.spoken_in.get(request.message_id) == request.room_id
            events = list(self.spoken.get(request.message_id, ())) if here else []
        if not events:
            context.abort(grpc.StatusCode.NOT_FOUND, "This message has no speech.")
        speech = pb.Speech(
            voice="tone",
            sentences=sum(1 for e in events if e.pcm),
            final=events[-1].final,
            error=events[-1].error,
            sample_rate=events[0].sample_rate,
        )
        return pb.GetSpeechResponse(speech=speech, sentences=events)
