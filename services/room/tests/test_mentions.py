"""Which personas a message mentions."""

from __future__ import annotations

import pytest

from services.room.orchestrator.mentions import mentioned

pytestmark = pytest.mark.unit

HANDLES = ["alpha", "beta", "gamma-2"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("@alpha what do you think?", ["alpha"]),
        ("what do you think, @alpha?", ["alpha"]),
        ("@alpha, @beta: compare", ["alpha", "beta"]),
        ("(@beta) and [@alpha]", ["alpha", "beta"]),
        ("@beta! @beta. @beta", ["beta"]),
        ("ask @gamma-2 please", ["gamma-2"]),
        ("@ALPHA shouting", ["alpha"]),
        ("@all hello", ["alpha", "beta", "gamma-2"]),
        ("hey @all.", ["alpha", "beta", "gamma-2"]),
        ("@nobody here", []),
        ("mail me at bob@alpha.com", []),
        ("@@alpha", []),
        ("@alphabet is not alpha", []),
        ("@alpha_x is someone else", []),
        ("@gamma is not gamma-2", []),
        ("no mentions at all", []),
        ("`@alpha` in code still counts", ["alpha"]),
    ],
)
def test_mentions(content: str, expected: list[str]) -> None:
    assert mentioned(content, HANDLES) == expected


def test_mentions_follow_room_order_not_message_order() -> None:
    assert mentioned("@gamma-2 then @alpha", HANDLES) == ["alpha", "gamma-2"]
