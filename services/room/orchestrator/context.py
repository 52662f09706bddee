"""What a persona sees: its system prompt, then the room as a named conversation, fitted to its window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.room.store.records import MessageRecord, PersonaRecord

# Tokens each message costs beyond its text (role markers, separators) in most chat templates.
PER_MESSAGE_OVERHEAD = 8


@dataclass(frozen=True)
class Turn:
    """One chat message for the model."""

    role: str  # "system" | "user" | "assistant"
    content: str
    name: str = ""


def system_prompt(persona: PersonaRecord, room_name: str) -> str:
    """The persona's own prompt plus what it needs to know about the room."""
    room = (
        f"You are {persona.name} (@{persona.handle}) in a group chat room called {room_name!r} "
        "with several people and AI personas. Each message from someone else starts with their "
        "name and a colon. Reply as yourself only, without a name prefix."
    )
    return f"{persona.system_prompt.strip()}\n\n{room}" if persona.system_prompt.strip() else room


def as_turn(message: MessageRecord, persona: PersonaRecord) -> Turn:
    """A room message from the persona's point of view."""
    if message.author.kind == "ai" and message.author.handle == persona.handle:
        return Turn("assistant", message.content)
    return Turn("user", f"{message.author.name}: {message.content}", name=message.author.name)


CountTokens = Callable[[list[str]], Awaitable[list[int]]]


async def build_context(
    persona: PersonaRecord,
    room_name: str,
    transcript: Sequence[MessageRecord],
    *,
    context_window: int,
    count_tokens: CountTokens,
) -> list[Turn]:
    """System prompt, then as many of the newest messages as fit in the window minus max_tokens."""
    system = Turn("system", system_prompt(persona, room_name))
    turns = [as_turn(m, persona) for m in transcript if m.content.strip()]
    counts = await count_tokens([system.content, *(t.content for t in turns)])
    budget = context_window - persona.max_tokens - counts[0] - PER_MESSAGE_OVERHEAD
    first = first_fitting([c + PER_MESSAGE_OVERHEAD for c in counts[1:]], budget)
    return [system, *turns[first:]]


def most_tokens(text: str) -> int:
    """At least as many tokens as any tokenizer makes of `text` (no special tokens added, as the
    LLM node counts): each token covers one UTF-8 byte or more (byte-level BPE; SentencePiece
    with byte fallback, or one unknown token per character), plus SentencePiece's leading "▁"."""
    return len(text.encode()) + 1


def fits_uncounted(system: str, turns: Sequence[Turn], room_for_prompt: int) -> bool:
    """Whether the system prompt and every turn surely fit in `room_for_prompt` tokens, counted
    or not: then nothing needs counting to know that the whole transcript goes to the model."""
    total = most_tokens(system) + PER_MESSAGE_OVERHEAD
    for turn in turns:
        total += most_tokens(turn.content) + PER_MESSAGE_OVERHEAD
        if total > room_for_prompt:
            return False
    return total <= room_for_prompt


def first_fitting(costs: Sequence[int], budget: int) -> int:
    """Index of the oldest of the newest items whose costs add up to at most `budget`."""
    first = len(costs)
    while first > 0 and costs[first - 1] <= budget:
        budget -= costs[first - 1]
        first -= 1
    return first
