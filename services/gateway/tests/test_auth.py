"""Session tokens and the server secret."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest

from services.common.errors import Unauthenticated
from services.gateway.auth import SECRET_FILE, Identity, TokenSigner, load_or_create_secret

pytestmark = pytest.mark.unit

ANA = Identity(id="u1", name="Ana")


def test_a_token_verifies_back_to_its_identity() -> None:
    signer = TokenSigner(b"s" * 32, ttl_s=60)
    assert signer.verify(signer.issue(ANA)) == ANA


def test_expired_token_is_rejected_with_a_clear_reason() -> None:
    secret = b"s" * 32
    now = int(time.time())
    token = jwt.encode(
        {"sub": "u1", "name": "Ana", "iat": now - 100, "exp": now - 10, "iss": "chimera"}, secret
    )
    with pytest.raises(Unauthenticated, match="expired"):
        TokenSigner(secret, ttl_s=60).verify(token)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # tampered signature
        lambda t: "garbage",
        lambda t: "",
    ],
)
def test_tampered_or_garbage_tokens_are_rejected(mutate) -> None:  # type: ignore[no-untyped-def]
    signer = TokenSigner(b"s" * 32, ttl_s=60)
    with pytest.raises(Unauthenticated):
        signer.verify(mutate(signer.issue(ANA)))


def test_a_token_from_another_server_is_rejected() -> None:
    other = TokenSigner(b"o" * 32, ttl_s=60).issue(ANA)
    with pytest.raises(Unauthenticated):
        TokenSigner(b"s" * 32, ttl_s=60).verify(other)


def test_unsigned_tokens_are_rejected() -> None:
    token = jwt.encode(
        {"sub": "u1", "name": "Ana", "iat": 1, "exp": 2**40, "iss": "chimera"},
        None,
        algorithm="none",
    )
    with pytest.raises(Unauthenticated):
        TokenSigner(b"s" * 32, ttl_s=60).verify(token)


def test_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert len(first) >= 32
    mode = (tmp_path / "data" / SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert load_or_create_secret(tmp_path / "data") == first
