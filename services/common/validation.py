"""Input checks shared by the gateway and the services.

Three rules, one place:
- every text field must be text every store can hold (`storable`): no NUL (PostgreSQL `text`
  cannot hold U+0000) and no lone surrogates (not UTF-8, so no store, JSON or protobuf can);
- message content must show something (`visible`): not only spaces and invisible characters;
- names (display, room, persona, token names) must not carry format characters such as bidi
  overrides or zero-width characters, which let one name pass for another (`clean_name`).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from services.common.errors import InvalidArgument

# Letters that render as nothing (Hangul fillers, the Mongolian vowel separator, braille blank)
# and are not in a category that says so.
_BLANK_LETTERS = frozenset("\u115f\u1160\u180e\u2800\u3164\uffa0")
# Categories that never show a glyph of their own: controls, format characters (ZWSP, ZWJ, BOM,
# bidi controls) and separators. (Unassigned code points may be newer emoji: not counted.)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# Not allowed in a name: controls, format characters, line and paragraph separators. Spaces are
# (they separate words, and show as a gap).
_NAME_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ZWJ = "\u200d"
_EMOJI_VARIATIONS = frozenset("\ufe0e\ufe0f")


def text_problem(value: str) -> str | None:
    """Why no store can hold `value` ("must not ..."), or None when every store can."""
    if "\x00" in value:
        return "must not contain NUL (U+0000) characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def storable(value: str, what: str) -> str:
    """`value` unchanged, or InvalidArgument naming `what` when a store cannot hold it."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidArgument(f"{what} {problem}.")
    return value


def _invisible(ch: str) -> bool:
    if ch in _BLANK_LETTERS or ch.isspace():
        return True
    # Variation selectors (category Mn) only change how the character before them looks.
    if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return True
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def visible(value: str) -> bool:
    """Whether `value` has a character that shows (not only spaces, ZWSP, BOM and the like)."""
    return not all(_invisible(ch) for ch in value)


def _symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or ch in _EMOJI_VARIATIONS


def forbidden_in_name(value: str) -> str | None:
    """The first character a name may not hold, or None.

    A zero-width joiner between emoji and an emoji presentation selector after one are allowed
    (they draw one emoji, like "👩‍💻"); anywhere else they are invisible and refused.
    """
    for i, ch in enumerate(value):
        before = value[i - 1] if i else ""
        after = value[i + 1] if i + 1 < len(value) else ""
        if ch == _ZWJ and before and after and _symbol(before) and _symbol(after):
            continue
        if ch in _EMOJI_VARIATIONS and before and unicodedata.category(before) == "So":
            continue
        if ch in _BLANK_LETTERS or "\ufe00" <= ch <= "\ufe0f":
            return ch
        if unicodedata.category(ch) in _NAME_FORBIDDEN_CATEGORIES:
            return ch
    return None


def clean_name(value: str, what: str, limit: int) -> str:
    """Strip a display name and reject empty, over-long, unstorable or invisible-character names.

    NUL and lone surrogates are control (Cc) and surrogate (Cs) characters: refused below too.
    """
    value = value.strip()
    if not value:
        raise InvalidArgument(f"{what} must not be empty.")
    if len(value) > limit:
        raise InvalidArgument(f"{what} must be at most {limit} characters.")
    bad = forbidden_in_name(value)
    if bad is not None:
        raise InvalidArgument(
            f"{what} must not contain control, format or invisible characters "
            f"(found U+{ord(bad):04X})."
        )
    if not visible(value):
        raise InvalidArgument(f"{what} must have a visible character.")
    return value


def utf8_text(value: str) -> str:
    """Reject strings that a store cannot hold (NUL, lone surrogates from JSON escapes)."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def visible_text(value: str) -> str:
    """As `utf8_text`, and reject text that shows nothing (only spaces and invisible characters)."""
    utf8_text(value)
    if not visible(value):
        raise ValueError("must not be empty or only invisible characters")
    return value


def name_text(value: str) -> str:
    """As `utf8_text`, and reject control, format and invisible characters (empty is allowed)."""
    utf8_text(value)
    bad = forbidden_in_name(value.strip())
    if bad is not None:
        raise ValueError(
            f"must not contain control, format or invisible characters (found U+{ord(bad):04X})"
        )
    return value


# A str field for request bodies and frames that every store can hold.
Text = Annotated[str, AfterValidator(utf8_text)]
# Message content: storable and showing something.
Content = Annotated[str, AfterValidator(visible_text)]
# A name people see (display, room, persona, token names): no format or invisible characters.
Name = Annotated[str, AfterValidator(name_text)]
