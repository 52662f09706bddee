"""The TtsService gRPC servicer: registry lookups, streamed synthesis, backend errors to status."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator

import grpc

from services.common.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.common.grpc_errors import streaming, unary
from services.common.pb import tts_pb2 as pb
from services.common.pb import tts_pb2_grpc
from services.tts_node.backends.base import MAX_RATE, MIN_RATE, BackendError, TtsBackend
from services.tts_node.framing import SAMPLE_BYTES, chunks, split_sentences
from services.tts_node.registry import VoiceRegistry

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 10_000
MAX_CHUNK_MS = 60_000


class TtsServicer(tts_pb2_grpc.TtsServiceServicer):
    """Serves speech from the voice registry."""

    def __init__(self, registry: VoiceRegistry) -> None:
        self.registry = registry

    def _backend(self, voice_id: str) -> TtsBackend:
        backend = self.registry.usable(voice_id, "voice").backend
        assert backend is not None  # usable() checked it
        return backend

    @streaming
    async def Synthesize(
        self, request: pb.SynthesizeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SynthesizeChunk]:
        started = time.perf_counter()
        backend = self._backend(request.voice_id)
        if len(request.text) > MAX_TEXT_CHARS:
            raise InvalidArgument("Give at most 10,000 characters of text.")
        rate = request.rate or 1.0
        if not MIN_RATE <= rate <= MAX_RATE:
            raise InvalidArgument("rate is between 0.5 and 2.0.")
        if not 0 <= request.max_chunk_ms <= MAX_CHUNK_MS:
            raise InvalidArgument("max_chunk_ms is between 0 and 60,000.")
        sentences = split_sentences(request.text)
        if not sentences:
            raise InvalidArgument("The text has nothing to say.")
        first_audio: float | None = None
        audio_bytes = 0
        done = 0
        stream = chunks(backend, sentences, rate, request.max_chunk_ms)
        try:
            async with contextlib.aclosing(stream) as pieces:
                async for piece in pieces:
                    if first_audio is None and piece.audio:
                        first_audio = time.perf_counter()
                    audio_bytes += len(piece.audio)
                    done += piece.sentence_end
                    yield pb.SynthesizeChunk(
                        audio=pb.AudioChunk(
                            sentence_index=piece.sentence_index,
                            audio=piece.audio,
                            format=pb.AUDIO_FORMAT_PCM_S16LE,
                            sample_rate=backend.sample_rate,
                            sentence_end=piece.sentence_end,
                            text=piece.text,
                        )
                    )
        except BackendError as exc:
            raise (Unavailable if exc.retryable else FailedPrecondition)(exc.message) from exc
        finally:
            if done < len(sentences):
                # Cancelled (Stop, or the caller went away): closing the stream above closed
                # the backend's, which stopped the synthesis.
                logger.info(
                    "synthesis stopped early",
                    extra={
                        "voice_id": request.voice_id,
                        "request_id": request.request_id,
                        "sentences_done": done,
                        "sentences": len(sentences),
                    },
                )
        now = time.perf_counter()
        yield pb.SynthesizeChunk(
            final=pb.SynthesizeFinal(
                sentences=len(sentences),
                audio_ms=audio_bytes // SAMPLE_BYTES * 1000 // max(1, backend.sample_rate),
                first_audio_ms=round(((first_audio or now) - started) * 1000),
                total_ms=round((now - started) * 1000),
            )
        )

    @unary
    async def ListVoices(
        self, request: pb.ListVoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListVoicesResponse:
        voices = []
        for voice in self.registry.voices.values():
            backend = voice.backend
            voices.append(
                pb.VoiceInfo(
                    id=voice.spec.id,
                    backend=voice.spec.backend,
                    name=voice.spec.name or voice.spec.id,
                    language=backend.language if backend else (voice.spec.language or ""),
                    speakers=list(backend.speakers) if backend else [],
                    sample_rate=backend.sample_rate if backend else 0,
                    available=voice.available,
                    reason=voice.reason,
                )
            )
        return pb.ListVoicesResponse(voices=voices)
