"""The voices personas can speak with (from the TTS node), and a short text's audio to preview one."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.common.pb import tts_pb2
from services.gateway.audio import MEDIA_TYPES, AudioFormat, encode
from services.gateway.convert import voice_json
from services.gateway.deps import CurrentUser, GatewayDep
from services.gateway.schemas import SpeechIn, VoiceList

router = APIRouter(prefix="/api", tags=["voices"])

TTS_TIMEOUT_S = 10.0
AUDIO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {media: {} for media in MEDIA_TYPES.values()},
        "description": "The audio: audio/wav, or audio/ogg (Opus).",
    }
}
TOO_MANY_PREVIEWS = "Too many speech previews; slow down."


@router.get("/voices", response_model=VoiceList)
async def list_voices(user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Every configured voice, with whether it is available and, if not, why."""
    reply = await gateway.tts.ListVoices(tts_pb2.ListVoicesRequest(), timeout=TTS_TIMEOUT_S)
    return {"voices": [voice_json(v) for v in reply.voices]}


@router.post(
    "/speech",
    response_class=Response,
    responses={**AUDIO_RESPONSES, 429: {"description": "Too many previews (see Retry-After)."}},
)
async def speak(
    body: SpeechIn,
    user: CurrentUser,
    gateway: GatewayDep,
    format: Annotated[AudioFormat, Query(description="wav (default) or opus (Ogg)")] = "wav",
) -> Response:
    """A short text (at most 500 characters) in a voice: for previewing it."""
    gateway.limits.speech.hit(user.id)
    request = tts_pb2.SynthesizeRequest(
        voice_id=body.voice, text=body.text, rate=body.rate or 1.0, request_id=f"preview-{user.id}"
    )
    pcm = bytearray()
    sample_rate = 0
    stream = gateway.tts.Synthesize(request, timeout=gateway.settings.speech_timeout_s)
    async for chunk in stream:
        if chunk.WhichOneof("kind") == "audio":
            pcm += chunk.audio.audio
            sample_rate = chunk.audio.sample_rate or sample_rate
    audio = await asyncio.to_thread(encode, bytes(pcm), sample_rate, format)
    return Response(audio, media_type=MEDIA_TYPES[format])
