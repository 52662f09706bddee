"""Schemathesis against the running gateway's own OpenAPI schema, signed in with an API token:
no input makes it answer 5xx, every status it answers is declared, and every body (errors
included) matches the schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import hypothesis
import pytest
import pytest_asyncio
import schemathesis
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.net import free_port
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from tests.support.authz_world import PASSWORD, cookieless_client
from tests.support.client import auth, running_ai_stack
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration]

MAX_EXAMPLES = 25  # per operation, half valid and half invalid input on average
# Per-IP limits stay at their defaults: a fuzzer that hits them must get a documented 429.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Target:
    """The running gateway (with an LLM node) and an API token of a signed-in (non-admin) user."""

    base_url: str
    token: str
    room_id: str  # a room of that user's, so some paths name something that exists


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Target]:
    # The model's server is not there (nothing listens on the port): the LLM node answers at once
    # that it is unavailable. A fake served from this process could not answer while the
    # synchronous fuzzer holds the event loop.
    registry = (
        f'[[models]]\nid = "gone"\nbackend = "openai_compatible"\n'
        f'base_url = "http://127.0.0.1:{free_port("127.0.0.1")}/v1"\nmodel = "gone"\n'
    )
    workdir = tmp_path_factory.mktemp("openapi-fuzz")
    voices = workdir / "voices.toml"  # the TTS node's fake voice: a tone, at once
    voices.write_text('[[voices]]\nid = "tone"\nbackend = "fake"\nmodel = "tone"\n')
    async with running_ai_stack("sqlite", workdir, registry) as stack:
        await stack.start_tts(voices)
        yield await _sign_in(stack)


async def _sign_in(stack: Stack) -> Target:
    async with cookieless_client(stack.base_url()) as http:
        reply = await http.post(
            "/api/auth/register", json={"username": "fuzzer", "password": PASSWORD}
        )
        assert reply.status_code == 201, reply.text
        session = reply.json()["token"]
        # An API token, not the session: the fuzzer may call logout, which ends only sessions.
        reply = await http.post("/api/tokens", json={"name": "fuzz"}, headers=auth(session))
        assert reply.status_code == 201, reply.text
        token = reply.json()["token"]
        reply = await http.post("/api/rooms", json={"name": "Fuzzed"}, headers=auth(token))
        assert reply.status_code == 201, reply.text
        return Target(stack.base_url(), token, reply.json()["id"])


@pytest.fixture(scope="module")
def served(target: Target) -> BaseSchema:
    """The schema as the running gateway serves it."""
    return schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")


def operation_labels() -> list[str]:
    """The operations of the gateway's schema, known at collection time from the app itself."""
    schema = schemathesis.openapi.from_dict(create_app(GatewaySettings()).openapi())
    return [result.ok().label for result in schema.get_all_operations()]


@pytest.mark.parametrize("label", operation_labels())
def test_the_gateway_keeps_its_openapi_promises(
    label: str, served: BaseSchema, target: Target
) -> None:
    operation = served.find_operation_by_label(label)
    assert operation is not None, f"the running gateway does not serve {label}"
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same examples every run
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(cases)
    def fuzz(case: schemathesis.Case) -> None:
        if case.path_parameters and "room_id" in case.path_parameters:
            # A real room: fuzzed bodies then reach the handlers instead of stopping at a 404.
            case.path_parameters["room_id"] = target.room_id
        case.call_and_validate(
            base_url=target.base_url, headers=auth(target.token), checks=CHECKS, timeout=30
        )

    fuzz()
