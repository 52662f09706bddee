"""The shortest path a user takes: sign in, create a room, talk over WebSocket."""

from __future__ import annotations

import pytest

from tests.support.client import Api, Member
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


async def test_two_members_see_a_message_and_the_sender_gets_an_ack(stack: Stack, api: Api) -> None:
    _, token_a = await api.session("Ana")
    _, token_b = await api.session("Ben")
    room = await api.create_room(token_a, "General")
    ana, ben = Member(stack.ws_url(room["id"]), token_a), Member(stack.ws_url(room["id"]), token_b)
    await ana.connect()
    await ben.connect()
    await ana.send({"type": "send", "content": "hello", "client_msg_id": "c1"})
    ack = await ana.wait_for(lambda f: f["type"] == "ack")
    seen = await ben.wait_for(lambda f: f["type"] == "message")
    assert seen["message"]["content"] == "hello"
    assert seen["message"]["author"]["name"] == "Ana"
    assert ack["message_id"] == seen["message"]["id"] and ack["seq"] == 1
    await ana.close()
    await ben.close()
