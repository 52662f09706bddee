"""What counts as storable text, visible content and a clean name."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.common.validation import clean_name, storable, text_problem, visible

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "a\ud800", "\udfff"])
def test_nul_and_lone_surrogates_are_not_storable(value: str) -> None:
    assert text_problem(value) is not None
    with pytest.raises(InvalidArgument, match="Field must"):
        storable(value, "Field")


@pytest.mark.parametrize("value", ["", "plain", "tab\tand\nnewline", "👩\u200d💻", "\u202e"])
def test_other_text_is_storable(value: str) -> None:
    assert storable(value, "Field") == value


@pytest.mark.parametrize(
    "value", ["", "  ", "\u200b", "\ufeff", "\u2060\u200d", "\u3164", "\u2800", "\ufe0f", "\u00a0"]
)
def test_only_invisible_characters_is_not_visible(value: str) -> None:
    assert not visible(value)


@pytest.mark.parametrize("value", ["a", " x ", "👍", "👩\u200d💻", "\u200bhi", "日本"])
def test_anything_that_shows_is_visible(value: str) -> None:
    assert visible(value)


@pytest.mark.parametrize(
    "name",
    [
        "Ana\u202e",
        "\u202aAna",
        "\u2066Ana\u2069",
        "A\u200bna",
        "Ana\u200d",
        "\u200e",
        "x\u00adx",
        "tab\tname",
        "bad\x00name",
        "a\u2028b",
        "\u3164",
    ],
)
def test_names_refuse_control_format_and_invisible_characters(name: str) -> None:
    with pytest.raises(InvalidArgument, match="Name must"):
        clean_name(name, "Name", 64)


@pytest.mark.parametrize(
    "name", ["Ana", "  Ana  ", "👩\u200d💻 Dev", "❤\ufe0f team", "Jean\u00a0Luc"]
)
def test_names_keep_emoji_sequences_and_spaces(name: str) -> None:
    assert clean_name(name, "Name", 64) == name.strip()
