"""The streaming sentence splitter: what is said of a reply, the same however it streams."""

from __future__ import annotations

import pytest

from services.room.speech.sentences import SentenceSplitter

pytestmark = pytest.mark.unit


def split(text: str, **options: int) -> list[str]:
    """The sentences of `text`, asserted equal whether it arrives whole or a character at a time."""
    whole = SentenceSplitter(**options)
    at_once = whole.feed(text) + whole.finish()
    streamed = SentenceSplitter(**options)
    pieces: list[str] = []
    for char in text:
        pieces += streamed.feed(char)
    assert pieces + streamed.finish() == at_once
    return at_once


def test_complete_sentences_come_out_as_they_end_and_the_rest_waits() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("The weather is lovely today. And tomor") == [
        "The weather is lovely today."
    ]
    assert splitter.feed("row it will rain") == []
    assert splitter.finish() == ["And tomorrow it will rain"]


def test_a_sentence_ends_only_once_the_space_after_it_arrives() -> None:
    splitter = SentenceSplitter()
    assert splitter.feed("The value of pi is roughly 3.") == []
    assert splitter.feed("14159 and that is enough! ") == [
        "The value of pi is roughly 3.14159 and that is enough!"
    ]


def test_abbreviations_decimals_initials_and_list_numbers_do_not_end_a_sentence() -> None:
    text = (
        "Dr. Smith and Mr. Jones met at 3.30 in the lab, e.g. the one upstairs. "
        "J. R. R. Tolkien wrote it, i.e. the famous book. "
        "1. First item of the list\n2. Second item of the list"
    )
    assert split(text) == [
        "Dr. Smith and Mr. Jones met at 3.30 in the lab, e.g. the one upstairs.",
        "J. R. R. Tolkien wrote it, i.e. the famous book.",
        "1. First item of the list",
        "2. Second item of the list",
    ]


def test_question_exclamation_ellipsis_and_closing_quotes_end_sentences() -> None:
    assert split('She said "this is really quite wonderful!" Then she left... Did you see it?') == [
        'She said "this is really quite wonderful!"',
        "Then she left... Did you see it?",
    ]


def test_fenced_code_is_not_spoken() -> None:
    text = (
        "Here is the script you asked for.\n```python\nprint('Hello. World.')\nx = 3\n```\n"
        "Run it with the interpreter of your choice."
    )
    assert split(text) == [
        "Here is the script you asked for.",
        "Run it with the interpreter of your choice.",
    ]


def test_an_unclosed_fence_hides_the_rest() -> None:
    assert split("The code follows below now.\n```\nrm -rf / . Oops.") == [
        "The code follows below now."
    ]


def test_urls_are_not_spoken_and_their_dots_end_nothing() -> None:
    assert split("Read https://example.com/a.b?c=1 for the details. Or see www.x.org.") == [
        "Read for the details.",
        "Or see.",
    ]


def test_short_fragments_are_said_with_the_next_sentence() -> None:
    assert split("Sure. Okay. Here is what I think about it.") == [
        "Sure. Okay. Here is what I think about it."
    ]
    assert split("Long enough to be said alone. Yes.") == ["Long enough to be said alone.", "Yes."]


def test_a_very_long_sentence_is_cut_at_a_comma_else_a_space() -> None:
    text = "one two three four five, six seven eight nine ten eleven twelve thirteen."
    assert split(text, max_chars=40, min_chars=1) == [
        "one two three four five,",
        "six seven eight nine ten eleven twelve",
        "thirteen.",
    ]


def test_markdown_marks_and_blank_fragments_are_dropped() -> None:
    assert split("## A heading for this part\n**Bold** words and `code` here.\n---\n") == [
        "A heading for this part",
        "Bold words and code here.",
    ]


def test_nothing_sayable_gives_nothing() -> None:
    assert split("") == []
    assert split("```\nonly code\n```") == []
    assert split("https://example.com") == []
