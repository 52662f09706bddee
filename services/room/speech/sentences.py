"""Cutting a reply's text into sentences to speak, as it streams.

`SentenceSplitter.feed` takes the text as it arrives and returns the sentences it completed;
an incomplete one is held back until its end arrives (or `finish`). Fenced code blocks and
URLs are not spoken; abbreviations ("Dr.", "e.g."), decimals ("3.14") and list numbers ("1.")
do not end a sentence; a fragment too short to say alone ("Sure.") goes with the next one; a
sentence past `max_chars` is cut at its last comma (else space). Whatever way the text is cut
into pieces, the sentences are the same: a decision that needs a character not yet arrived
waits for it.
"""

from __future__ import annotations

import re

TERMINATORS = ".!?…"
CLOSERS = "\"')]}»\u201d\u2019"
OPENERS = "([<{\"'«\u201c\u2018"
FENCE = "```"
URL_PREFIXES = ("https://", "http://", "www.")
URL_TRAILING = ".,;:!?)]}'\""
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs no fig approx dept est inc ltd co corp e.g i.e cf al "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
MIN_CHARS = 20  # a sentence shorter than this is said with the next one
MAX_CHARS = 300
_MARKUP = re.compile(r"\*\*|__|[`*]|^#+\s*|\[|\]|\(\s*\)")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([.,;:!?…])")


def _clean(text: str) -> str:
    """Markdown marks dropped, whitespace collapsed: the text as it should be said."""
    text = _SPACES.sub(" ", _MARKUP.sub("", text.strip()))
    return _SPACE_BEFORE_MARK.sub(r"\1", text).strip()


class SentenceSplitter:
    """Streaming sentence boundaries over a reply's text (see the module docstring)."""

    def __init__(self, *, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buf = ""  # text received and not yet scanned
        self._cur: list[str] = []  # the sentence being read
        self._held = ""  # a complete sentence too short to say alone
        self._in_code = False
        self._line_start = True
        self._prev = " "  # the last character scanned (URL and decimal checks)
        self._out: list[str] = []

    def feed(self, text: str) -> list[str]:
        """Take more of the reply; the sentences it completed, in order."""
        self._buf += text
        self._scan(final=False)
        return self._take()

    def finish(self) -> list[str]:
        """The reply ended: the rest, as sentences."""
        self._scan(final=True)
        self._end_sentence()
        if self._held:
            self._out.append(self._held)
            self._held = ""
        return self._take()

    def _take(self) -> list[str]:
        out, self._out = self._out, []
        return out

    def _scan(self, final: bool) -> None:
        buf, i = self._buf, 0
        while i < len(buf):
            step = self._step(buf, i, final)
            if step is None:
                break  # the next decision needs text that has not arrived
            i = step
        self._buf = buf[i:]

    def _step(self, buf: str, i: int, final: bool) -> int | None:
        """Scan what starts at `i`; where the next step starts (None: wait for more text)."""
        if self._line_start:
            j = i
            while j < len(buf) and buf[j] in " \t":
                j += 1
            rest = buf[j : j + len(FENCE)]
            if rest == FENCE or (not final and FENCE.startswith(rest)):
                if rest != FENCE:
                    return None
                end = buf.find("\n", j)
                if end < 0 and not final:
                    return None
                if not self._in_code:
                    self._end_sentence()
                self._in_code = not self._in_code
                self._line_start, self._prev = True, " "
                return len(buf) if end < 0 else end + 1
        char = buf[i]
        self._line_start = char == "\n"
        if self._in_code:
            return i + 1
        if char == "\n":
            self._end_sentence()
            self._prev = " "
            return i + 1
        if self._prev.isspace() or self._prev in OPENERS:
            url = self._url(buf, i, final)
            if url != i:
                return url
        if char in TERMINATORS:
            return self._terminator(buf, i, final)
        self._add(char)
        return i + 1

    def _url(self, buf: str, i: int, final: bool) -> int | None:
        """Past a URL starting at `i` (it is not said), `i` when there is none."""
        rest = buf[i : i + 8].lower()
        if not any(rest.startswith(p) for p in URL_PREFIXES):
            if not final and any(p.startswith(rest) for p in URL_PREFIXES) and len(rest) < 8:
                return None
            return i
        end = next((k for k in range(i, len(buf)) if buf[k].isspace()), -1)
        if end < 0:
            if not final:
                return None
            end = len(buf)
        while end > i and buf[end - 1] in URL_TRAILING:
            end -= 1  # "see https://x.org." ends its sentence
        self._prev = " "
        return max(end, i + 1)

    def _terminator(self, buf: str, i: int, final: bool) -> int | None:
        j = i
        while j < len(buf) and buf[j] in TERMINATORS:
            j += 1
        while j < len(buf) and buf[j] in CLOSERS:
            j += 1
        if j == len(buf) and not final:
            return None
        following = buf[j] if j < len(buf) else " "
        mark = buf[i:j]
        for char in mark:
            self._add(char)
        if mark == "." and self._not_an_end(following):
            return j
        if following.isspace():
            self._end_sentence()
        return j

    def _not_an_end(self, following: str) -> bool:
        """A lone "." that ends no sentence: a decimal, an abbreviation, an initial, "1."."""
        text = "".join(self._cur[:-1])
        word = text.rsplit(None, 1)[-1].lstrip(OPENERS) if text.strip() else ""
        if word[-1:].isdigit() and following.isdigit():
            return True
        if word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            return True
        return word.isdigit() and text.strip() == word  # a numbered list's "1."

    def _add(self, char: str) -> None:
        self._cur.append(char)
        self._prev = char
        if len(self._cur) > self.max_chars:
            self._cut()

    def _cut(self) -> None:
        """A sentence too long to wait for: say it up to its last comma (else space)."""
        text = "".join(self._cur)
        at = max(text.rfind(", "), text.rfind("; "))
        if at <= 0:
            at = text.rfind(" ")
        if at <= 0:
            at = len(text) - 1
        self._cur = list(text[at + 1 :])
        self._complete(text[: at + 1])

    def _end_sentence(self) -> None:
        text, self._cur = "".join(self._cur), []
        self._complete(text)

    def _complete(self, text: str) -> None:
        sentence = _clean(text)
        if not any(c.isalnum() for c in sentence):
            return
        if self._held:
            sentence = f"{self._held} {sentence}"
            self._held = ""
        if len(sentence) < self.min_chars:
            self._held = sentence
        else:
            self._out.append(sentence)
