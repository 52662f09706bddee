"""Autopilot's settings: checking a change to them, pacing, and what a stop says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.common.errors import InvalidArgument
from services.common.pb import room_pb2 as pb
from services.common.validation import storable
from services.room.orchestrator.selector import STRATEGIES
from services.room.store.records import RoomRecord

MAX_TURNS = 1_000
MAX_TOKEN_BUDGET = 1_000_000_000
MAX_IDLE_TIMEOUT_S = 7 * 24 * 3600
MAX_MODEL_ID = 128


@dataclass(frozen=True)
class AutopilotConfig:
    """Pacing and randomness of every room's autopilot."""

    delay_base_s: float = 1.5
    delay_per_char_s: float = 0.015
    delay_max_s: float = 8.0
    seed: int | None = None  # set: every loop draws the same sequence (tests)


def pacing_delay(chars: int, *, base_s: float, per_char_s: float, max_s: float) -> float:
    """Seconds a persona thinks before answering a message of `chars` characters."""
    return max(0.0, min(max_s, base_s + per_char_s * chars))


def validate_patch(patch: pb.AutopilotPatch) -> dict[str, Any]:
    """The fields a patch sets, checked; InvalidArgument says what is wrong."""
    values: dict[str, Any] = {}
    if patch.HasField("enabled"):
        values["enabled"] = patch.enabled
    if patch.HasField("strategy"):
        if patch.strategy not in STRATEGIES:
            raise InvalidArgument(
                f"Autopilot strategy must be one of {', '.join(STRATEGIES)}, "
                f"not {storable(patch.strategy, 'Autopilot strategy')!r}."
            )
        values["strategy"] = patch.strategy
    for name, low, high in (
        ("max_turns", 1, MAX_TURNS),
        ("token_budget", 0, MAX_TOKEN_BUDGET),
        ("idle_timeout_s", 1, MAX_IDLE_TIMEOUT_S),
    ):
        if patch.HasField(name):
            value = getattr(patch, name)
            if not low <= value <= high:
                raise InvalidArgument(f"Autopilot {name} must be between {low} and {high}.")
            values[name] = value
    if patch.HasField("summary_model"):
        model = storable(patch.summary_model, "summary_model").strip()
        if len(model) > MAX_MODEL_ID:
            raise InvalidArgument(f"summary_model must be at most {MAX_MODEL_ID} characters.")
        values["summary_model"] = model or None  # empty: back to the default
    return values


def stop_message(reason: str, room: RoomRecord, detail: str = "") -> str:
    """The system message that says why autopilot stopped."""
    autopilot = room.autopilot
    if reason == "max_turns":
        turns = autopilot.max_turns
        return (
            f"Autopilot stopped: {turns} AI turn{'s' * (turns != 1)} in a row "
            "without a human message."
        )
    if reason == "token_budget":
        return (
            f"Autopilot stopped: its budget of {autopilot.token_budget:,} tokens is spent "
            f"({autopilot.tokens_used:,} used)."
        )
    if reason == "idle":
        seconds = autopilot.idle_timeout_s
        return (
            f"Autopilot stopped: nobody has been online for {seconds} second{'s' * (seconds != 1)}."
        )
    if reason == "switched_off":
        return f"Autopilot switched off by {detail}."
    return f"Autopilot stopped: {detail}."
