"""Accounts and their credentials (sign-in sessions, API tokens); secrets are stored hashed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.clock import utcnow
from services.common.errors import Conflict
from services.room.store.records import USERNAME_TAKEN, AccountRecord, CredentialRecord
from services.room.store.sql.base import Repository
from services.room.store.sql.models import Account, Credential
from services.room.store.sql.outbox import add_revocations


class AccountRepository(Repository):
    """Rows of `accounts` and `credentials`."""

    def __init__(self, engine: AsyncEngine, *, outbox: bool = False) -> None:
        super().__init__(engine)
        # A process other than the room service (`chimera admin`) cannot tell the gateways what
        # it revokes: with `outbox`, every revocation is written to revocation_outbox in the
        # same transaction, and the room service publishes it from there.
        self.outbox = outbox

    # --- accounts -------------------------------------------------------------------------------

    async def create_account(
        self,
        *,
        username: str | None,
        name: str,
        kind: str,
        password_hash: str | None = None,
        admin: bool = False,
    ) -> AccountRecord:
        """Store a new account; Conflict if `username` is taken."""
        account = Account(
            id=str(uuid4()),
            username=username,
            name=name,
            kind=kind,
            password_hash=password_hash,
            admin=admin,
            disabled=False,
            created_at=utcnow(),
        )
        try:
            async with self._write() as session:
                session.add(account)
        except IntegrityError:
            raise Conflict(USERNAME_TAKEN) from None
        return account_record(account)

    async def get_account(self, account_id: str) -> AccountRecord | None:
        """The account `account_id`, or None."""
        async with self._sessions() as session:
            account = await session.get(Account, account_id)
        return None if account is None else account_record(account)

    async def get_by_username(self, username: str) -> tuple[AccountRecord, str | None] | None:
        """The account named `username` (already lower-cased) and its password hash, or None."""
        async with self._sessions() as session:
            account = await session.scalar(select(Account).where(Account.username == username))
        return None if account is None else (account_record(account), account.password_hash)

    async def list_accounts(self, limit: int) -> list[AccountRecord]:
        """Up to `limit` accounts, newest first."""
        query = select(Account).order_by(Account.created_at.desc(), Account.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [account_record(account) for account in await session.scalars(query)]

    async def update_account(
        self,
        account_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> AccountRecord | None:
        """Change the given fields of an account; None if there is no such account."""
        values: dict[str, Any] = {}
        if admin is not None:
            values["admin"] = admin
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values["password_hash"] = password_hash
        if not values:
            return await self.get_account(account_id)
        statement = (
            update(Account).where(Account.id == account_id).values(values).returning(Account)
        )
        async with self._write() as session:
            account = await session.scalar(
                statement, execution_options={"synchronize_session": False}
            )
            if account is None:
                return None
            if self.outbox and disabled:
                add_revocations(session, account_id=account_id)
            return account_record(account)

    # --- credentials ----------------------------------------------------------------------------

    async def add_credential(
        self,
        account_id: str,
        kind: str,
        token_hash: str,
        *,
        name: str | None = None,
        expires_at: datetime | None = None,
    ) -> CredentialRecord:
        """Store a session or API token under the hash of its secret."""
        credential = Credential(
            id=str(uuid4()),
            account_id=account_id,
            kind=kind,
            name=name,
            token_hash=token_hash,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        async with self._write() as session:
            session.add(credential)
        return credential_record(credential)

    async def find_credential(
        self, token_hash: str
    ) -> tuple[CredentialRecord, AccountRecord] | None:
        """The credential stored under `token_hash` and its account, or None."""
        query = (
            select(Credential, Account)
            .join(Account, Account.id == Credential.account_id)
            .where(Credential.token_hash == token_hash)
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        return credential_record(row[0]), account_record(row[1])

    async def touch_credential(self, credential_id: str, when: datetime) -> None:
        """Record that a credential was used at `when`."""
        statement = (
            update(Credential).where(Credential.id == credential_id).values(last_used_at=when)
        )
        async with self._write() as session:
            await session.execute(statement, execution_options={"synchronize_session": False})

    async def list_credentials(self, account_id: str, kind: str) -> list[CredentialRecord]:
        """An account's credentials of one kind, oldest first."""
        query = (
            select(Credential)
            .where(Credential.account_id == account_id, Credential.kind == kind)
            .order_by(Credential.created_at, Credential.id)
        )
        async with self._sessions() as session:
            return [credential_record(c) for c in await session.scalars(query)]

    async def count_credentials(self, account_id: str, kind: str) -> int:
        """How many credentials of one kind an account holds."""
        query = (
            select(func.count())
            .select_from(Credential)
            .where(Credential.account_id == account_id, Credential.kind == kind)
        )
        async with self._sessions() as session:
            return (await session.scalar(query)) or 0

    async def delete_credential(
        self,
        *,
        kind: str,
        credential_id: str | None = None,
        token_hash: str | None = None,
        account_id: str | None = None,
    ) -> CredentialRecord | None:
        """Delete one credential of `kind`, by id or by hash (and owner); None if none matched."""
        if credential_id is None and token_hash is None:
            raise ValueError("delete_credential needs credential_id or token_hash")
        statement = delete(Credential).where(Credential.kind == kind)
        if credential_id is not None:
            statement = statement.where(Credential.id == credential_id)
        if token_hash is not None:
            statement = statement.where(Credential.token_hash == token_hash)
        if account_id is not None:
            statement = statement.where(Credential.account_id == account_id)
        async with self._write() as session:
            row = await session.scalar(
                statement.returning(Credential), execution_options={"synchronize_session": False}
            )
            if row is None:
                return None
            if self.outbox:
                add_revocations(session, credential_ids=[row.id])
            return credential_record(row)

    async def delete_credentials(self, account_id: str, kind: str) -> list[str]:
        """Delete every credential of one kind of an account; return their ids."""
        statement = (
            delete(Credential)
            .where(Credential.account_id == account_id, Credential.kind == kind)
            .returning(Credential.id)
        )
        async with self._write() as session:
            ids = list(
                await session.scalars(statement, execution_options={"synchronize_session": False})
            )
            if self.outbox:
                add_revocations(session, credential_ids=ids)
            return ids

    async def delete_expired(self, now: datetime) -> int:
        """Delete every credential that expired before `now`; return how many."""
        statement = (
            delete(Credential)
            .where(Credential.expires_at.is_not(None), Credential.expires_at < now)
            .returning(Credential.id)
        )
        async with self._write() as session:
            ids = await session.scalars(statement, execution_options={"synchronize_session": False})
            return len(list(ids))


def account_record(account: Account) -> AccountRecord:
    """An account row as a record (without its password hash)."""
    return AccountRecord(
        id=account.id,
        username=account.username,
        name=account.name,
        kind=account.kind,
        admin=account.admin,
        disabled=account.disabled,
        created_at=account.created_at,
    )


def credential_record(credential: Credential) -> CredentialRecord:
    """A credential row as a record (without its hash)."""
    return CredentialRecord(
        id=credential.id,
        account_id=credential.account_id,
        kind=credential.kind,
        name=credential.name,
        created_at=credential.created_at,
        expires_at=credential.expires_at,
        last_used_at=credential.last_used_at,
    )
