"""Server-sent events split out of a body however the network cuts it."""

from __future__ import annotations

import pytest

from services.llm_node.backends.sse import EventSplitter

pytestmark = pytest.mark.unit

BODY = (
    b": keepalive\n\n"
    b'data: {"n": 1}\n\n'
    b"event: chunk\nid: 7\nretry: 100\ndata: two\ndata:lines\n\n"
    b"data: \xc3\xa9t\xc3\xa9\n\n"
    b"data: [DONE]\n\n"
)
EVENTS = [b'{"n": 1}', b"two\nlines", "été".encode(), b"[DONE]"]


def split(*chunks: bytes) -> list[bytes]:
    splitter = EventSplitter()
    events = [data for chunk in chunks for data in splitter.feed(chunk)]
    return events + splitter.finish()


def test_a_body_in_one_chunk_gives_each_events_data() -> None:
    assert split(BODY) == EVENTS


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_events_cut_at_every_byte_come_out_whole(ending: bytes) -> None:
    body = BODY.replace(b"\n", ending)
    for cut in range(len(body) + 1):
        assert split(body[:cut], body[cut:]) == EVENTS, f"cut at {cut}"
    assert split(*(body[i : i + 1] for i in range(len(body)))) == EVENTS


def test_a_crlf_cut_between_its_cr_and_lf_is_one_line_end() -> None:
    assert split(b"data: a\r\n\r", b"\ndata: b\r\n\r\n") == [b"a", b"b"]


def test_comments_and_events_without_data_give_nothing() -> None:
    assert split(b": ping\n\nevent: ping\n\nretry: 5\n\n:\n\n\n\n") == []


def test_empty_data_is_not_an_event_but_empty_lines_of_data_are() -> None:
    assert split(b"data:\n\ndata\ndata\n\n") == [b"\n"]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert split(b"data:  two spaces\n\ndata:none\n\n") == [b" two spaces", b"none"]


def test_an_event_cut_off_by_the_end_of_the_body_is_dropped() -> None:
    assert split(b"data: whole\n\ndata: cut off") == [b"whole"]
    assert split(b"data: whole\r\r") == [b"whole"]  # its last CR ends the event at the end


def test_many_events_in_one_chunk_keep_their_order() -> None:
    body = b"".join(b"data: %d\n\n" % i for i in range(50))
    assert split(body[:333], body[333:]) == [b"%d" % i for i in range(50)]
