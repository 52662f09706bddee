"""The rolling summary: folded only when messages drop, extended (never rebuilt), and `/summary`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.pb import room_pb2 as pb
from services.llm_node.backends.base import ChatTurn
from services.llm_node.backends.fake import Step
from services.room.hub import RoomHub
from services.room.orchestrator.context import Turn
from services.room.orchestrator.summary import (
    SUMMARY_HEADING,
    Summarizer,
    SummaryConfig,
    is_command,
)
from services.room.store.records import AuthorRecord, PersonaRecord
from services.room.store.sql.repository import RoomRepository
from services.room.timeline import Timeline
from tests.support.llm_node import LlmNode, fake_model, llm_node

pytestmark = pytest.mark.unit

ANA = AuthorRecord(id="u1", name="Ana", kind="human")
SAGE = PersonaRecord(
    handle="sage", name="Sage", model="small", system_prompt="", temperature=0.7, max_tokens=20
)
WINDOW = 400  # words of "small": the system prompt, the reply budget and ~16 messages
WIDE = 4_000  # words of every other model


MODELS = ("small", "wide", "big")


@dataclass
class Asked:
    """One generation a model was asked for."""

    model_id: str
    messages: list[ChatTurn]


class ScriptedLlm:
    """A real LLM node whose models answer with the next scripted text; what they were asked.

    Every model plays the same script: each test folds with one model only.
    """

    def __init__(self, node: LlmNode, answers: list[str]) -> None:
        self.node, self.stub = node, node.stub
        for model_id in MODELS:
            node.fake(model_id).script = [Step(text=answer) for answer in answers]

    @property
    def requests(self) -> list[Asked]:
        return [Asked(m, r.messages) for m in MODELS for r in self.node.fake(m).requests]

    def prompt(self, index: int = -1) -> str:
        """Every message of one request, joined."""
        return "\n".join(m.content for m in self.requests[index].messages)


@pytest_asyncio.fixture
async def scripted() -> AsyncIterator[Callable[[list[str]], ScriptedLlm]]:
    async with llm_node(*(fake_model(m) for m in MODELS)) as node:
        yield lambda answers: ScriptedLlm(node, answers)


async def window(model: str) -> int:
    return WINDOW if model == "small" else WIDE


async def count_words(model: str, texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


@pytest.fixture
def repo(engine: AsyncEngine) -> RoomRepository:
    return RoomRepository(engine)


def summarizer(repo: RoomRepository, llm: ScriptedLlm, **config: object) -> Summarizer:
    return Summarizer(
        Timeline(repo, RoomHub(typing_ttl_s=5)),
        llm.stub,
        SummaryConfig(max_tokens=30, keep_ratio=0.5, **config),  # type: ignore[arg-type]
        window=window,
        count=count_words,
    )


async def say(repo: RoomRepository, room_id: str, first: int, last: int) -> None:
    """Ana says "line N" with ten more words, for N in first..last."""
    for n in range(first, last + 1):
        words = " ".join(["word"] * 10)
        await repo.post_message(room_id, ANA, f"line{n} {words}", client_msg_id=None, reply_to=None)


async def context(repo: RoomRepository, summary: Summarizer, room_id: str) -> list[Turn]:
    room = await repo.get_room(room_id)
    transcript = await repo.recent_messages(room_id, upto_seq=room.last_seq, limit=500)
    return await summary.context(SAGE, room, transcript)


def lines_in(text: str) -> set[int]:
    return {int(w[4:]) for w in text.replace(":", " ").split() if w.startswith("line")}


async def test_nothing_is_folded_while_everything_fits(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Lab", "u1", [SAGE])
    llm = scripted([])
    await say(repo, room.id, 1, 5)
    turns = await context(repo, summarizer(repo, llm), room.id)
    assert llm.requests == []
    assert SUMMARY_HEADING not in turns[0].content
    assert [lines_in(t.content) for t in turns[1:]] == [{n} for n in range(1, 6)]
    assert (await repo.get_room(room.id)).summary is None


async def test_dropped_messages_are_folded_and_the_summary_extended_not_rebuilt(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Lab", "u1", [SAGE])
    llm = scripted(["Ana counted to the start.", "Ana counted on and on."])
    summary = summarizer(repo, llm, model="wide")
    await say(repo, room.id, 1, 40)

    turns = await context(repo, summary, room.id)
    # One fold: the oldest messages, none of those still shown, and no summary before it.
    (fold,) = llm.requests
    assert fold.model_id == "wide"
    folded = lines_in(llm.prompt())
    shown = set().union(*(lines_in(t.content) for t in turns[1:]))
    assert folded and min(folded) == 1 and shown and max(shown) == 40
    assert max(folded) < max(shown) and shown | folded == set(range(1, 41))
    assert "(none yet)" in llm.prompt()
    stored = (await repo.get_room(room.id)).summary
    assert stored is not None
    assert (stored.text, stored.upto_seq) == ("Ana counted to the start.", max(folded))
    # The summary leads the context, in the system prompt, ahead of the recent messages.
    assert turns[0].role == "system"
    assert f"{SUMMARY_HEADING}\nAna counted to the start." in turns[0].content
    assert all(t.role == "user" for t in turns[1:])

    # A turn or two more fits in the slack the fold left: no new fold.
    await say(repo, room.id, 41, 42)
    await context(repo, summary, room.id)
    assert len(llm.requests) == 1

    # Once more drop, only the new ones are folded, into the summary so far.
    await say(repo, room.id, 43, 80)
    turns = await context(repo, summary, room.id)
    assert len(llm.requests) == 2
    again = lines_in(llm.prompt())
    assert "Summary so far:\nAna counted to the start." in llm.prompt()
    assert again and min(again) == max(folded) + 1  # nothing folded before is sent again
    stored = (await repo.get_room(room.id)).summary
    assert stored is not None
    assert (stored.text, stored.upto_seq) == ("Ana counted on and on.", max(again))
    assert "Ana counted on and on." in turns[0].content
    assert max(lines_in(turns[-1].content)) == 80


async def test_by_default_the_first_personas_model_folds_in_chunks_that_fit_it(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Lab", "u1", [SAGE])
    llm = scripted([f"Part {n}." for n in range(1, 10)])
    await say(repo, room.id, 1, 40)
    await context(repo, summarizer(repo, llm), room.id)
    assert len(llm.requests) > 1 and {r.model_id for r in llm.requests} == {"small"}
    chunks = [lines_in(llm.prompt(i)) for i in range(len(llm.requests))]
    assert min(chunks[0]) == 1
    for n, (before, after) in enumerate(itertools.pairwise(chunks), start=1):
        assert min(after) == max(before) + 1  # each chunk once, in order
        assert f"Summary so far:\nPart {n}." in llm.prompt(n)  # into the fold before it
    stored = (await repo.get_room(room.id)).summary
    assert stored is not None
    assert (stored.text, stored.upto_seq) == (f"Part {len(chunks)}.", max(chunks[-1]))


async def test_a_room_summary_model_overrides_the_default(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Lab", "u1", [SAGE])
    await repo.autopilot.update(room.id, {"summary_model": "big"})
    llm = scripted(["Short."])
    await say(repo, room.id, 1, 40)
    await context(repo, summarizer(repo, llm, model="default-model"), room.id)
    assert llm.requests[0].model_id == "big"


async def test_summary_command_reports_from_the_summary_and_newer_messages(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Lab", "u1", [SAGE])
    llm = scripted(
        ["Folded.", "**Summary** Ana counts. **Decisions** None. **Action items** None."]
    )
    summary = summarizer(repo, llm, model="wide")
    await say(repo, room.id, 1, 40)
    await context(repo, summary, room.id)
    upto = (await repo.get_room(room.id)).summary.upto_seq  # type: ignore[union-attr]
    command = (
        await repo.post_message(room.id, ANA, " /summary ", client_msg_id=None, reply_to=None)
    ).message
    assert is_command(command.content)

    posted = await summary.post(room.id, reply_to=command.id)
    assert "Folded." in llm.prompt()
    assert lines_in(llm.prompt()) == set(range(upto + 1, 41))
    assert "/summary" not in llm.prompt()
    assert "Decisions" in llm.requests[-1].messages[0].content
    assert posted.author.kind == pb.AUTHOR_KIND_SYSTEM and posted.reply_to == command.id
    assert posted.content.startswith("**Summary** Ana counts.")
    history, _ = await repo.load_history(room.id, before=None, after=None, limit=1)
    assert history[0].id == posted.id


async def test_without_any_model_the_summary_says_why(
    repo: RoomRepository, scripted: Callable[[list[str]], ScriptedLlm]
) -> None:
    room = await repo.create_room("Empty", "u1")
    llm = scripted([])
    nothing = await summarizer(repo, llm).post(room.id)
    assert nothing.content == "Nothing to summarize yet."
    await say(repo, room.id, 1, 1)
    refused = await summarizer(repo, llm).post(room.id)
    assert refused.content.startswith("No summary: No summarizer model")
    assert llm.requests == []
