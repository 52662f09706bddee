"""A spoken AI reply's whole audio, from the sentences stored with it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.common.errors import NotFound
from services.common.pb import room_pb2 as pb
from services.gateway.audio import MEDIA_TYPES, AudioFormat, encode
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.routes.voices import AUDIO_RESPONSES

router = APIRouter(prefix="/api/rooms/{room_id}/messages", tags=["messages"])

NO_SPEECH = "This message has no speech."


@router.get("/{message_id}/speech", response_class=Response, responses=AUDIO_RESPONSES)
async def get_speech(
    room_id: str,
    message_id: str,
    user: CurrentUser,
    gateway: GatewayDep,
    format: Annotated[Literal["opus", "wav"], Query(description="opus (Ogg, default) or wav")] = (
        "opus"
    ),
) -> Response:
    """The reply's audio so far, every sentence in order; 404 when it has none (members only)."""
    request = pb.GetSpeechRequest(room_id=room_id, message_id=message_id, actor=actor(user))
    reply = await gateway.rooms.GetSpeech(request, timeout=gateway.timeout)
    pcm = b"".join(sentence.pcm for sentence in reply.sentences)
    sample_rate = reply.speech.sample_rate or next(
        (s.sample_rate for s in reply.sentences if s.sample_rate), 0
    )
    if not pcm or not sample_rate:
        raise NotFound(NO_SPEECH)
    fmt: AudioFormat = format
    audio = await asyncio.to_thread(encode, pcm, sample_rate, fmt)
    return Response(audio, media_type=MEDIA_TYPES[fmt])
