"""Accounts: registration, sign-in, guests, sessions, API tokens and administration.

Every credential is an opaque random secret stored only as its SHA-256; passwords are
argon2id hashes. `authenticate` looks a credential up on every use, so revoking one (or
disabling its account) takes effect at once; `Revocations` tells the gateways too.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.clock import utcnow
from services.common.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from services.common.validation import clean_name, storable
from services.room.accounts.passwords import LoginLimiter, Passwords, TooManySignIns
from services.room.accounts.revocations import Revocations
from services.room.config import RoomSettings
from services.room.events import AccountDisabled, RoomEvents
from services.room.store.protocol import AccountStore
from services.room.store.records import USERNAME_TAKEN, AccountRecord, CredentialRecord

logger = logging.getLogger(__name__)

USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
MIN_PASSWORD, MAX_PASSWORD = 8, 256
MAX_DISPLAY_NAME = 64
MAX_TOKEN_NAME = 64
MAX_TOKEN_DAYS = 3650
MAX_TOKENS = 100  # API tokens per account
MAX_SECRET_CHARS = 512  # longer "credentials" are refused before hashing
MAX_SOURCE_CHARS = 64  # a client address as the gateway names it (IPv6 fits)
TOKEN_PREFIX = "chm_"
TOUCH_INTERVAL = timedelta(minutes=1)  # API tokens' last_used_at is written at most this often
DEFAULT_ACCOUNTS, MAX_ACCOUNTS = 500, 1000

INVALID_CREDENTIALS = "Invalid or expired credentials."
INVALID_LOGIN = "Invalid username or password."
GUESTS_NOT_ALLOWED = "Guests are not allowed on this server."
ADMINS_ONLY = "Only administrators can do that."


@dataclass(frozen=True)
class AccountPolicy:
    """The account settings of RoomSettings."""

    allow_guests: bool = True
    session_ttl: timedelta = timedelta(days=30)
    login_max_failures: int = 10
    login_failure_window_s: float = 900.0
    login_account_max_failures: int = 30

    @classmethod
    def from_settings(cls, settings: RoomSettings) -> AccountPolicy:
        """The account settings of the room service's settings."""
        return cls(
            allow_guests=settings.allow_guests,
            session_ttl=timedelta(days=settings.session_ttl_days),
            login_max_failures=settings.login_max_failures,
            login_failure_window_s=settings.login_failure_window_s,
            login_account_max_failures=settings.login_account_max_failures,
        )


@dataclass(frozen=True)
class Grant:
    """A new credential: its record and the secret, shown once."""

    account: AccountRecord
    credential: CredentialRecord
    secret: str


def hash_secret(secret: str) -> str:
    """How a session, API token or invite secret is stored: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = "") -> str:
    """A fresh high-entropy secret (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared lower-cased."""
    return username.strip().lower()


class Accounts:
    """What AccountService and `chimera admin` do, independent of gRPC."""

    def __init__(
        self,
        repo: AccountStore,
        revocations: Revocations | None = None,
        *,
        policy: AccountPolicy | None = None,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = utcnow,
        events: RoomEvents | None = None,
    ) -> None:
        self.repo = repo
        self.revocations = revocations or Revocations()
        self.policy = policy or AccountPolicy()
        self.passwords = passwords or Passwords()
        self.clock = clock
        self.events = events or RoomEvents()
        self.limiter = LoginLimiter(
            self.policy.login_max_failures,
            self.policy.login_failure_window_s,
            clock=lambda: self.clock().timestamp(),
            account_max_failures=self.policy.login_account_max_failures,
        )

    # --- signing in -----------------------------------------------------------------------------

    async def register(
        self, username: str, password: str, name: str = "", source: str = ""
    ) -> Grant:
        """A new account with a password, signed in; Conflict if the username is taken.

        `source`: the client's address; signing up from it counts as signing in from it.
        """
        username = check_username(username)
        check_password(password)
        display = clean_name(name or username, "Display name", MAX_DISPLAY_NAME)
        if await self.repo.get_by_username(username) is not None:  # before the costly hash
            raise Conflict(USERNAME_TAKEN)
        account = await self.repo.create_account(
            username=username,
            name=display,
            kind="user",
            password_hash=await self.passwords.hash(password),
        )
        logger.info("account registered", extra={"account_id": account.id})
        self.limiter.succeeded(username, source)
        return await self._session(account)

    async def login(self, username: str, password: str, source: str = "") -> Grant:
        """A new session for a correct username and password; one generic failure otherwise.

        `source` (the client's address) is what failures are counted against: a stranger's
        guesses hold back the stranger, not the owner (see `LoginLimiter`). Unknown usernames
        are counted, limited and hashed exactly as known ones, so no answer tells them apart.
        """
        key = normalize_username(username)[:64]
        source = source[:MAX_SOURCE_CHARS]
        retry_after = self.limiter.retry_after(key, source)
        if retry_after > 0:
            raise TooManySignIns(retry_after)
        # Counted as failed until proven right, so a burst of guesses cannot outrun the count.
        self.limiter.failed(key, source)
        found = await self.repo.get_by_username(key) if USERNAME.fullmatch(key) else None
        account, stored = found if found is not None else (None, None)
        ok, rehash = await self.passwords.verify(stored, password[:MAX_PASSWORD])
        if account is None or not ok or len(password) > MAX_PASSWORD or account.disabled:
            raise Unauthenticated(INVALID_LOGIN)
        self.limiter.succeeded(key, source)
        if rehash:
            await self.repo.update_account(
                account.id, password_hash=await self.passwords.hash(password)
            )
        return await self._session(account)

    async def create_guest(self, name: str) -> Grant:
        """A guest account under a display name, signed in."""
        if not self.policy.allow_guests:
            raise PermissionDenied(GUESTS_NOT_ALLOWED)
        display = clean_name(name, "Display name", MAX_DISPLAY_NAME)
        account = await self.repo.create_account(username=None, name=display, kind="guest")
        return await self._session(account)

    async def logout(self, token: str) -> None:
        """End the session `token`; anything else (unknown, an API token) is left as it is."""
        if not token or len(token) > MAX_SECRET_CHARS:
            return
        ended = await self.repo.delete_credential(kind="session", token_hash=hash_secret(token))
        if ended is not None:
            self.revocations.credential(ended.id)

    async def authenticate(self, token: str) -> tuple[AccountRecord, CredentialRecord]:
        """The account and credential behind `token`; Unauthenticated for anything invalid."""
        if not token or len(token) > MAX_SECRET_CHARS:
            raise Unauthenticated(INVALID_CREDENTIALS)
        found = await self.repo.find_credential(hash_secret(token))
        if found is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        credential, account = found
        now = self.clock()
        if credential.expires_at is not None and credential.expires_at <= now:
            await self.repo.delete_credential(kind=credential.kind, credential_id=credential.id)
            raise Unauthenticated(INVALID_CREDENTIALS)
        if account.disabled:
            raise Unauthenticated(INVALID_CREDENTIALS)
        if account.kind == "guest" and not self.policy.allow_guests:
            # Switched off after this guest signed in: its session ends with the setting.
            raise Unauthenticated(GUESTS_NOT_ALLOWED)
        if credential.kind == "api_token" and (
            credential.last_used_at is None or now - credential.last_used_at >= TOUCH_INTERVAL
        ):
            await self.repo.touch_credential(credential.id, now)
        return account, credential

    async def _session(self, account: AccountRecord) -> Grant:
        secret = new_secret()
        credential = await self.repo.add_credential(
            account.id,
            "session",
            hash_secret(secret),
            expires_at=self.clock() + self.policy.session_ttl,
        )
        return Grant(account, credential, secret)

    # --- accounts -------------------------------------------------------------------------------

    async def get(self, account_id: str) -> AccountRecord:
        """One account; NotFound if there is none."""
        account = await self.repo.get_account(account_id) if account_id else None
        if account is None:
            raise NotFound("Account not found.")
        return account

    async def actor(self, account_id: str) -> AccountRecord | None:
        """The account acting on a request, or None when it is unknown or disabled."""
        account = await self.repo.get_account(account_id) if account_id else None
        return None if account is None or account.disabled else account

    async def _active(self, actor_id: str) -> AccountRecord:
        account = await self.actor(actor_id)
        if account is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        return account

    async def _admin(self, actor_id: str) -> AccountRecord:
        account = await self._active(actor_id)
        if not account.admin:
            raise PermissionDenied(ADMINS_ONLY)
        return account

    async def list_accounts(self, actor_id: str, limit: int) -> list[AccountRecord]:
        """Every account, newest first (administrators only)."""
        await self._admin(actor_id)
        limit = DEFAULT_ACCOUNTS if limit <= 0 else min(limit, MAX_ACCOUNTS)
        return await self.repo.list_accounts(limit)

    async def set_disabled(self, actor_id: str, account_id: str, disabled: bool) -> AccountRecord:
        """Disable (or enable) an account (administrators only, not their own)."""
        admin = await self._admin(actor_id)
        if account_id == admin.id:
            raise FailedPrecondition("You cannot disable your own account.")
        return await self._set_disabled(account_id, disabled)

    async def _set_disabled(self, account_id: str, disabled: bool) -> AccountRecord:
        account = await self.repo.update_account(account_id, disabled=disabled)
        if account is None:
            raise NotFound("Account not found.")
        if disabled:
            # Sessions end for good; API tokens only fail while the account stays disabled.
            await self.repo.delete_credentials(account_id, "session")
            self.publish_disabled(account_id)
        logger.info(
            "account disabled" if disabled else "account enabled", extra={"account_id": account_id}
        )
        return account

    def publish_disabled(self, account_id: str) -> None:
        """Tell the gateways, and this service's open sessions, that an account is disabled."""
        self.revocations.account(account_id)
        self.events.emit(AccountDisabled(account_id))

    # --- API tokens -----------------------------------------------------------------------------

    async def create_token(
        self, actor_id: str, name: str, expires_in_days: int
    ) -> tuple[CredentialRecord, str]:
        """A personal API token (`chm_...`, shown once) for a registered account."""
        account = await self._active(actor_id)
        if account.kind == "guest":
            raise PermissionDenied("Guests cannot create API tokens.")
        name = clean_name(name, "Token name", MAX_TOKEN_NAME)
        if not 0 <= expires_in_days <= MAX_TOKEN_DAYS:
            raise InvalidArgument(
                f"expires_in_days must be between 1 and {MAX_TOKEN_DAYS} (or 0 for never)."
            )
        if await self.repo.count_credentials(account.id, "api_token") >= MAX_TOKENS:
            raise FailedPrecondition(
                f"An account has at most {MAX_TOKENS} API tokens; revoke one first."
            )
        expires_at = self.clock() + timedelta(days=expires_in_days) if expires_in_days else None
        secret = new_secret(TOKEN_PREFIX)
        token = await self.repo.add_credential(
            account.id, "api_token", hash_secret(secret), name=name, expires_at=expires_at
        )
        return token, secret

    async def list_tokens(self, actor_id: str) -> list[CredentialRecord]:
        """The actor's own API tokens, oldest first."""
        account = await self._active(actor_id)
        return await self.repo.list_credentials(account.id, "api_token")

    async def revoke_token(self, actor_id: str, token_id: str) -> None:
        """Delete one of the actor's API tokens; NotFound if it is not theirs."""
        account = await self._active(actor_id)
        revoked = await self.repo.delete_credential(
            kind="api_token", credential_id=token_id, account_id=account.id
        )
        if revoked is None:
            raise NotFound("Token not found.")
        self.revocations.credential(revoked.id)

    # --- administration (`chimera admin`) -------------------------------------------------------

    async def make_admin(self, username: str, password: str | None) -> tuple[AccountRecord, bool]:
        """Promote an existing account, or create one with `password`; (account, created)."""
        username = check_username(username)
        found = await self.repo.get_by_username(username)
        if found is not None:
            account = await self.repo.update_account(found[0].id, admin=True)
            assert account is not None
            return account, False
        if password is None:
            raise InvalidArgument("A new account needs a password.")
        check_password(password)
        account = await self.repo.create_account(
            username=username,
            name=username,
            kind="user",
            password_hash=await self.passwords.hash(password),
            admin=True,
        )
        return account, True

    async def by_username(self, username: str) -> AccountRecord:
        """The account named `username`; NotFound if there is none."""
        found = await self.repo.get_by_username(normalize_username(username))
        if found is None:
            raise NotFound(f"No account is named {normalize_username(username)!r}.")
        return found[0]

    async def reset_password(self, username: str, password: str) -> AccountRecord:
        """Set a new password and end every session of the account."""
        account = await self.by_username(username)
        check_password(password)
        await self.repo.update_account(
            account.id, password_hash=await self.passwords.hash(password)
        )
        for credential_id in await self.repo.delete_credentials(account.id, "session"):
            self.revocations.credential(credential_id)
        self.limiter.forget(account.username or "")
        return account

    async def disable_by_username(self, username: str, disabled: bool) -> AccountRecord:
        """Disable or enable the account named `username`."""
        return await self._set_disabled((await self.by_username(username)).id, disabled)


def check_username(username: str) -> str:
    """The normalized username; InvalidArgument unless it is 3-32 of a-z, 0-9, '_', '.', '-'."""
    username = normalize_username(username)
    if not USERNAME.fullmatch(username):
        raise InvalidArgument("Username must be 3-32 characters: a-z, 0-9, '_', '.' or '-'.")
    return username


def check_password(password: str) -> None:
    """InvalidArgument unless the password is 8-256 characters of storable text."""
    storable(password, "Password")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(
            f"Password must be between {MIN_PASSWORD} and {MAX_PASSWORD} characters."
        )
