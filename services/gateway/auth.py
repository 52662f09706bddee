"""Signed, expiring session tokens and the server secret they are signed with."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from services.common.errors import Unauthenticated

SECRET_FILE = "secret.key"
_ALGORITHM = "HS256"
_ISSUER = "chimera"


@dataclass(frozen=True)
class Identity:
    """A verified user, as every route and frame handler receives it."""

    id: str
    name: str


def load_or_create_secret(data_dir: Path) -> bytes:
    """Read the server secret, creating it (mode 0600) on first start."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # fails if another process won the race; use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


class TokenSigner:
    """Issues and verifies HS256 JWTs carrying the user's id and display name."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def issue(self, identity: Identity) -> str:
        """A token for `identity`, valid for the configured lifetime."""
        now = int(time.time())
        claims = {
            "sub": identity.id,
            "name": identity.name,
            "iat": now,
            "exp": now + self._ttl_s,
            "iss": _ISSUER,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Identity:
        """The identity in a valid token; Unauthenticated for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("Token expired; sign in again.") from None
        except jwt.PyJWTError:
            raise Unauthenticated("Invalid token.") from None
        sub, name = claims.get("sub"), claims.get("name")
        if not isinstance(sub, str) or not isinstance(name, str):
            raise Unauthenticated("Invalid token.")
        return Identity(id=sub, name=name)
