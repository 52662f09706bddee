"""The RoomStore contract for AI replies: start, checkpoint, finish, restart recovery, context."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.room.store.protocol import RoomStore
from services.room.store.records import AuthorRecord, MessageRecord, ReplyStart, SpeechRecord
from services.room.store.registry import Store

pytestmark = pytest.mark.unit

ALICE = AuthorRecord(id="user-alice", name="Alice", kind="human")
ALPHA = AuthorRecord(id="persona:alpha", name="Alpha", kind="ai", handle="alpha")
BETA = AuthorRecord(id="persona:beta", name="Beta", kind="ai", handle="beta")
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def repo(store: Store) -> RoomStore:
    return store.rooms


async def say(repo: RoomStore, room_id: str, content: str) -> MessageRecord:
    posted = await repo.post_message(room_id, ALICE, content, client_msg_id=None, reply_to=None)
    return posted.message


async def history(repo: RoomStore, room_id: str) -> list[MessageRecord]:
    messages, _ = await repo.load_history(room_id, before=None, after=None, limit=500)
    return messages


# --- lifecycle ----------------------------------------------------------------------------------


async def test_reply_starts_streaming_and_empty_in_the_room_sequence(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    question = await say(repo, room.id, "@alpha what is 2+2?")

    reply = await repo.start_ai_message(room.id, ALPHA, reply_to=question.id)

    assert (reply.seq, reply.content, reply.status, reply.reply_to) == (
        2,
        "",
        "streaming",
        question.id,
    )
    assert reply.author == ALPHA
    assert (reply.model, reply.prompt_tokens, reply.completion_tokens) == (None, None, None)
    assert (reply.ttft_ms, reply.total_ms, reply.error) == (None, None, None)
    assert await repo.get_message(room.id, reply.id) == reply
    assert (await history(repo, room.id))[-1] == reply
    assert (await repo.get_room(room.id)).last_seq == 2


async def test_a_mention_and_its_replies_are_stored_together_right_behind_it(
    repo: RoomStore,
) -> None:
    room = await repo.create_room("General", "user-alice")
    replies = [ReplyStart(ALPHA, "streaming"), ReplyStart(BETA, "queued")]

    posted = await repo.post_message(
        room.id, ALICE, "@alpha @beta hi", client_msg_id="c1", reply_to=None, replies=replies
    )

    alpha, beta = posted.replies
    assert (posted.message.seq, alpha.seq, beta.seq) == (1, 2, 3)
    assert (alpha.author, alpha.status, alpha.reply_to) == (ALPHA, "streaming", posted.message.id)
    assert (beta.author, beta.status, beta.reply_to) == (BETA, "queued", posted.message.id)
    assert await history(repo, room.id) == [posted.message, alpha, beta]

    again = await repo.post_message(
        room.id, ALICE, "@alpha @beta hi", client_msg_id="c1", reply_to=None, replies=replies
    )
    assert (again.message, again.duplicate, again.replies) == (posted.message, True, ())
    assert (await repo.get_room(room.id)).last_seq == 3  # the repeat stored no reply either


async def test_a_post_refused_stores_none_of_its_replies(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    other = await repo.create_room("Other", "user-alice")
    elsewhere = await say(repo, other.id, "over there")

    with pytest.raises(InvalidArgument):
        await repo.post_message(
            room.id,
            ALICE,
            "@alpha hi",
            client_msg_id=None,
            reply_to=elsewhere.id,
            replies=[ReplyStart(ALPHA, "streaming")],
        )

    assert await history(repo, room.id) == []
    assert (await repo.get_room(room.id)).last_seq == 0


async def test_reply_is_checkpointed_then_finished(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    question = await say(repo, room.id, "@alpha count to three")
    reply = await repo.start_ai_message(room.id, ALPHA, reply_to=question.id)
    later = await say(repo, room.id, "while it types")

    await repo.checkpoint_message(reply.id, "one, two")
    partial = await repo.get_message(room.id, reply.id)
    assert (partial.content, partial.status) == ("one, two", "streaming")

    finished = await repo.finish_message(
        reply.id,
        content="one, two, three",
        status="complete",
        model="qwen-local",
        prompt_tokens=42,
        completion_tokens=7,
        ttft_ms=120,
        total_ms=5_000_000_000,  # beyond 32 bits
    )

    assert finished == MessageRecord(
        id=reply.id,
        room_id=room.id,
        seq=2,
        author=ALPHA,
        content="one, two, three",
        reply_to=question.id,
        status="complete",
        client_msg_id=None,
        created_at=reply.created_at,
        model="qwen-local",
        prompt_tokens=42,
        completion_tokens=7,
        ttft_ms=120,
        total_ms=5_000_000_000,
        error=None,
    )
    assert await history(repo, room.id) == [question, finished, later]
    assert await repo.get_message(room.id, reply.id) == finished


async def test_failed_reply_keeps_its_partial_text_and_reason(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    reply = await repo.start_ai_message(room.id, ALPHA)
    await repo.checkpoint_message(reply.id, "Once upon")

    failed = await repo.finish_message(
        reply.id,
        content="Once upon a",
        status="error",
        model="gpt-4o-mini",
        error="The provider rejected the API key.",
    )

    assert (failed.content, failed.status, failed.error) == (
        "Once upon a",
        "error",
        "The provider rejected the API key.",
    )
    assert (failed.model, failed.prompt_tokens, failed.total_ms) == ("gpt-4o-mini", None, None)
    assert (await history(repo, room.id))[-1] == failed


async def test_checkpoint_after_the_end_changes_nothing(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    reply = await repo.start_ai_message(room.id, ALPHA)
    stopped = await repo.finish_message(reply.id, content="Partial", status="interrupted")

    await repo.checkpoint_message(reply.id, "Partial and late")
    await repo.checkpoint_message(MISSING, "nobody")

    assert await repo.get_message(room.id, reply.id) == stopped
    assert stopped.status == "interrupted"


async def test_a_replys_speech_is_stored_with_it_and_read_back(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    reply = await repo.start_ai_message(room.id, ALPHA, reply_to=None)
    assert reply.speech is None
    await repo.finish_message(reply.id, content="Hello there.", status="complete")

    speech = SpeechRecord("joe", sentences=2, final=True, error="", sample_rate=22050)
    saved = await repo.save_speech(reply.id, speech)

    assert (saved.speech, saved.content, saved.status) == (speech, "Hello there.", "complete")
    assert (await repo.get_message(room.id, reply.id)).speech == speech
    assert (await history(repo, room.id))[-1].speech == speech
    with pytest.raises(NotFound):
        await repo.save_speech(MISSING, speech)


async def test_human_and_ai_messages_share_one_dense_sequence(repo: RoomStore) -> None:
    rooms = [await repo.create_room(f"room {i}", "user-alice") for i in range(2)]

    async def either(i: int) -> MessageRecord:
        room_id = rooms[i % 2].id
        if i % 3 == 0:
            return await repo.start_ai_message(room_id, ALPHA if i % 2 else BETA)
        return await say(repo, room_id, f"m{i}")

    await asyncio.gather(*(either(i) for i in range(60)))

    for room in rooms:
        messages = await history(repo, room.id)
        assert [message.seq for message in messages] == list(range(1, 31))
        assert {message.author.kind for message in messages} == {"human", "ai"}


# --- refusals -----------------------------------------------------------------------------------


async def test_reply_in_unknown_room_is_not_found(repo: RoomStore) -> None:
    with pytest.raises(NotFound, match=r"^Room not found\.$"):
        await repo.start_ai_message(MISSING, ALPHA)


async def test_reply_to_a_message_of_another_room_is_rejected(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    elsewhere = await say(repo, other_room.id, "@alpha hi")

    with pytest.raises(InvalidArgument, match=r"^reply_to must name a message in this room\.$"):
        await repo.start_ai_message(room.id, ALPHA, reply_to=elsewhere.id)

    assert await history(repo, room.id) == []
    assert (await repo.start_ai_message(room.id, ALPHA)).seq == 1


async def test_reply_needs_an_ai_author(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    with pytest.raises(ValueError, match="kind 'ai'"):
        await repo.start_ai_message(room.id, ALICE)
    assert await history(repo, room.id) == []


async def test_finishing_needs_a_final_status_and_a_known_message(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    reply = await repo.start_ai_message(room.id, ALPHA)

    with pytest.raises(ValueError, match="final status"):
        await repo.finish_message(reply.id, content="x", status="streaming")
    with pytest.raises(NotFound, match=r"^Message not found\.$"):
        await repo.finish_message(MISSING, content="x", status="complete")

    assert await repo.get_message(room.id, reply.id) == reply


async def test_message_is_found_only_in_its_own_room(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    message = await say(repo, room.id, "hello")

    assert await repo.get_message(room.id, message.id) == message
    for room_id, message_id in ((other_room.id, message.id), (room.id, MISSING)):
        with pytest.raises(NotFound, match=r"^Message not found\.$"):
            await repo.get_message(room_id, message_id)


# --- restart ------------------------------------------------------------------------------------


async def test_restart_interrupts_only_streaming_replies(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    human = await say(repo, room.id, "@alpha @beta go")
    done = await repo.start_ai_message(room.id, ALPHA)
    done = await repo.finish_message(done.id, content="Done.", status="complete")
    failed = await repo.start_ai_message(room.id, BETA)
    failed = await repo.finish_message(failed.id, content="", status="error", error="Down.")
    cut_off = await repo.start_ai_message(room.id, BETA)
    await repo.checkpoint_message(cut_off.id, "Half a")
    never_started = await repo.start_ai_message(other_room.id, ALPHA)

    interrupted = {message.id: message for message in await repo.interrupt_streaming()}

    assert {(m.id, m.content, m.status) for m in interrupted.values()} == {
        (cut_off.id, "Half a", "interrupted"),
        (never_started.id, "", "interrupted"),
    }
    assert await history(repo, room.id) == [human, done, failed, interrupted[cut_off.id]]
    assert await history(repo, other_room.id) == [interrupted[never_started.id]]
    assert await repo.interrupt_streaming() == []


# --- context window -----------------------------------------------------------------------------


async def test_recent_messages_window(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    posted = [await say(repo, room.id, f"m{i}") for i in range(1, 11)]
    await say(repo, other_room.id, "elsewhere")

    async def window(upto_seq: int, limit: int) -> list[int]:
        messages = await repo.recent_messages(room.id, upto_seq=upto_seq, limit=limit)
        return [message.seq for message in messages]

    assert await repo.recent_messages(room.id, upto_seq=10, limit=3) == posted[7:]
    assert await window(10, 10) == list(range(1, 11))
    assert await window(10, 50) == list(range(1, 11))
    assert await window(99, 2) == [9, 10]
    assert await window(5, 3) == [3, 4, 5]
    assert await window(2, 5) == [1, 2]
    assert await window(1, 1) == [1]
    assert await window(0, 5) == []
    assert await window(10, 0) == []


async def test_recent_messages_include_replies_in_their_final_state(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    question = await say(repo, room.id, "@alpha hi")
    answer = await repo.start_ai_message(room.id, ALPHA, reply_to=question.id)
    answer = await repo.finish_message(answer.id, content="Hello!", status="complete")
    current = await repo.start_ai_message(room.id, ALPHA, reply_to=question.id)

    context = await repo.recent_messages(room.id, upto_seq=current.seq - 1, limit=20)

    assert context == [question, answer]
