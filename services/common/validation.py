"""Input checks shared by the gateway and the services."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from services.common.errors import InvalidArgument


def clean_name(value: str, what: str, limit: int) -> str:
    """Strip a display name and reject empty, over-long or control-character names."""
    value = value.strip()
    if not value:
        raise InvalidArgument(f"{what} must not be empty.")
    if len(value) > limit:
        raise InvalidArgument(f"{what} must be at most {limit} characters.")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidArgument(f"{what} must not contain control characters.")
    return value


def utf8_text(value: str) -> str:
    """Reject strings that cannot be stored or sent as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


# A str field for request bodies and frames that must round-trip as UTF-8.
Text = Annotated[str, AfterValidator(utf8_text)]
