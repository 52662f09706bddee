"""`chimera admin`, a separate process, closes the open WebSockets of what it disables or ends.

It writes each revocation to the database's outbox; the running room service publishes it to
the gateways, which close the sockets with 1008 without the client doing anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.client import (
    NO_LIMITS,
    PASSWORD,
    Api,
    Member,
    auth,
    chimera_admin,
    running_stack,
)
from tests.support.fixtures import api_fixture, connected, database_fixture, members_fixture
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

database = database_fixture()
api = api_fixture()
members = members_fixture()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One stack per database for the module; every test makes its own accounts."""
    env = {**NO_LIMITS, "CHIMERA_REVOCATION_POLL_S": "0.2"}
    async with running_stack(database, tmp_path_factory.mktemp("admin-cli"), env) as stack:
        yield stack


async def still_open(member: Member) -> None:
    """`member`'s socket still answers."""
    await member.send({"type": "ping"})
    await member.wait_for(lambda f: f["type"] == "pong")
    assert member.close_code is None


async def test_disable_closes_every_socket_of_the_account_1008(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    user, session = await api.register()
    token = (await api.create_token(session))["token"]
    room = await api.create_room(session)
    _, bystander_session = await api.register()
    sockets = [
        await connected(shared, room["id"], session, members),
        await connected(shared, room["id"], token, members),
    ]
    bystander = await connected(shared, room["id"], bystander_session, members)

    await chimera_admin(shared, "disable", "--username", user["username"])

    for socket in sockets:
        assert await socket.wait_closed() == 1008
    await still_open(bystander)
    for credential in (session, token):
        assert (await api.http.get("/api/me", headers=auth(credential))).status_code == 401


async def test_reset_password_closes_the_sessions_sockets_1008(
    shared: Stack, api: Api, members: list[Member]
) -> None:
    user, session = await api.register()
    other = (await api.login(user["username"])).json()["token"]
    token = (await api.create_token(session))["token"]
    room = await api.create_room(session)
    by_session = [
        await connected(shared, room["id"], session, members),
        await connected(shared, room["id"], other, members),
    ]
    by_token = await connected(shared, room["id"], token, members)

    await chimera_admin(
        shared,
        "reset-password",
        "--username",
        user["username"],
        "--password-stdin",
        stdin="a brand new password\n",
    )

    for socket in by_session:
        assert await socket.wait_closed() == 1008
    # Resetting a password ends sign-in sessions; API tokens stay, as they do through the server.
    await still_open(by_token)
    assert (await api.login(user["username"], PASSWORD)).status_code == 401
    assert (await api.login(user["username"], "a brand new password")).status_code == 200
