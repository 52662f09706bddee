"""Sentences from text, and each sentence's audio framed into the chunks the stream carries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.tts_node.backends.base import TtsBackend, VoiceSpec
from services.tts_node.backends.fake import FakeBackend
from services.tts_node.framing import Chunk, chunks, frames, split_sentences

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello there. How are you?", ["Hello there.", "How are you?"]),
        ("Wait!  Really?! Yes…  fine", ["Wait!", "Really?!", "Yes…", "fine"]),
        ('He said "no." Then left.', ['He said "no."', "Then left."]),
        ("Pi is 3.14 exactly.", ["Pi is 3.14 exactly."]),
        ("first line\nsecond line\n\n third", ["first line", "second line", "third"]),
        ("  ... !  ", []),
        ("", []),
    ],
)
def test_text_is_cut_into_sentences_with_something_to_say(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_frames_are_at_most_max_chunk_ms_of_whole_samples() -> None:
    pcm = bytes(range(200)) * 2  # 400 bytes: 200 samples
    assert list(frames(pcm, 1000, 0)) == [pcm]
    cut = list(frames(pcm, 1000, 30))  # 30 samples = 60 bytes a frame
    assert [len(f) for f in cut] == [60] * 6 + [40]
    assert b"".join(cut) == pcm
    assert list(frames(pcm, 10, 1)) == [pcm[i : i + 2] for i in range(0, 400, 2)]  # >= 1 sample
    assert list(frames(b"", 1000, 30)) == []


def fake(**options: object) -> FakeBackend:
    return FakeBackend(VoiceSpec(id="tone", backend="fake", model="tone", options=options))


async def collect(stream: AsyncIterator[Chunk]) -> list[Chunk]:
    return [chunk async for chunk in stream]


async def test_each_sentence_ends_with_one_marked_chunk_and_carries_its_text_once() -> None:
    backend = fake(sample_rate=1000, ms_per_char=10, pieces=3)
    got = await collect(chunks(backend, ["One two.", "Three!"], 1.0, max_chunk_ms=20))
    by_sentence = {i: [c for c in got if c.sentence_index == i] for i in (0, 1)}
    assert [c.sentence_index for c in got] == sorted(c.sentence_index for c in got)
    for index, text in enumerate(["One two.", "Three!"]):
        mine = by_sentence[index]
        assert [c.sentence_end for c in mine] == [False] * (len(mine) - 1) + [True]
        assert [c.text for c in mine] == [text] + [""] * (len(mine) - 1)
        assert all(len(c.audio) <= 40 for c in mine)  # 20 ms at 1 kHz, 2 bytes a sample
        # 10 ms of audio per character at 1 kHz: 10 samples each.
        assert sum(len(c.audio) for c in mine) == len(text) * 10 * 2
    assert backend.finished == ["One two.", "Three!"]


async def test_slower_rate_means_longer_audio() -> None:
    backend = fake(sample_rate=1000, ms_per_char=10)
    normal = await collect(chunks(backend, ["Hello."], 1.0, 0))
    slow = await collect(chunks(backend, ["Hello."], 0.5, 0))
    assert len(slow[0].audio) == 2 * len(normal[0].audio)


class OddPieces(TtsBackend):
    """Sends a sentence's PCM in pieces of odd byte counts, as an HTTP stream may."""

    sample_rate = 1000

    def _sentence(self, text: str, rate: float) -> AsyncIterator[bytes]:
        async def pieces() -> AsyncIterator[bytes]:
            data = bytes(range(1, 21))
            for start, end in [(0, 3), (3, 8), (8, 20)]:
                yield data[start:end]

        return pieces()


async def test_odd_sized_pieces_are_realigned_to_whole_samples() -> None:
    got = await collect(
        chunks(OddPieces(VoiceSpec(id="o", backend="fake", model="m")), ["x"], 1.0, 0)
    )
    assert all(len(c.audio) % 2 == 0 for c in got)
    assert b"".join(c.audio for c in got) == bytes(range(1, 21))


async def test_closing_the_chunks_stops_the_backend_mid_sentence() -> None:
    backend = fake(sample_rate=1000, ms_per_char=10, pieces=4, delay_ms=40)
    stream = chunks(backend, ["A first sentence.", "A second one."], 1.0, 0)
    first = await anext(stream)
    assert first.sentence_index == 0
    await stream.aclose()
    assert backend.started == ["A first sentence."]
    assert backend.stopped == ["A first sentence."]
    assert backend.finished == []
