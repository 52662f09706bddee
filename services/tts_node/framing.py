"""A request's text as sentences, and each sentence's audio as the chunks the stream carries.

The node cuts the text itself, so that every backend numbers sentences the same way (Piper
would cut by its own rules, a hosted API not at all). The room sends one sentence per call;
a caller that sends a paragraph still gets its first sentence's audio as soon as it is ready.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass

from services.tts_node.backends.base import TtsBackend

SAMPLE_BYTES = 2  # 16-bit mono PCM

# A sentence ends at . ! ? or … (and any closing quotes or brackets after it) followed by
# whitespace, or at a line break. Good enough for a node: the room cuts replies more carefully.
_CLOSERS = "\"')]\u201d\u2019"  # quotes and brackets that may follow the end mark
_SENTENCE_END = re.compile(rf"(?:(?<=[.!?…])|(?<=[.!?…][{re.escape(_CLOSERS)}]))\s+|\s*\n\s*")
_SPEAKABLE = re.compile(r"\w")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` that have something to say (not bare punctuation), in order."""
    parts = (part.strip() for part in _SENTENCE_END.split(text))
    return [part for part in parts if part and _SPEAKABLE.search(part)]


def frames(pcm: bytes, sample_rate: int, max_chunk_ms: int) -> Iterator[bytes]:
    """`pcm` cut into pieces of at most `max_chunk_ms` of audio (0: one piece), whole samples."""
    if max_chunk_ms <= 0 or not pcm:
        if pcm:
            yield pcm
        return
    size = max(1, sample_rate * max_chunk_ms // 1000) * SAMPLE_BYTES
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]


@dataclass(frozen=True)
class Chunk:
    """One piece of one sentence's audio."""

    sentence_index: int
    audio: bytes
    sentence_end: bool
    text: str  # the sentence, on its first chunk only


async def chunks(
    backend: TtsBackend, sentences: list[str], rate: float, max_chunk_ms: int
) -> AsyncGenerator[Chunk, None]:
    """Every sentence's audio in order; the last chunk of each says `sentence_end`.

    One frame is held back until the next arrives (or the sentence ends), so that the last one
    can be marked; a sentence that makes no audio still gets one empty, final chunk. Closing
    this iterator closes the backend's, which stops its synthesis.
    """
    for index, sentence in enumerate(sentences):
        held: bytes | None = None
        first = True
        # Odd byte counts from a backend must not shift every later sample by a byte.
        carry = b""
        pieces = backend.speak(sentence, rate)
        try:
            async for piece in pieces:
                data = carry + piece
                cut = len(data) - len(data) % SAMPLE_BYTES
                carry = data[cut:]
                for frame in frames(data[:cut], backend.sample_rate, max_chunk_ms):
                    if held is not None:
                        yield Chunk(index, held, False, sentence if first else "")
                        first = False
                    held = frame
        finally:
            await pieces.aclose()
        yield Chunk(index, held or b"", True, sentence if first else "")
