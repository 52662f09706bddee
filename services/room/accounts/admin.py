"""`chimera admin`: create the first administrator, reset passwords, list and disable accounts.

It works on the room service's database directly (CHIMERA_DATABASE_URL, or the SQLite file in
the data dir), migrating it first, so it works before the services have ever run. What it
revokes fails on its next use at once (every request authenticates), and is written to
revocation_outbox in the same transaction: a running room service publishes it from there to
the gateways, which close the open WebSockets (1008) within CHIMERA_REVOCATION_POLL_S.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable

from services.common.errors import ChimeraError, InvalidArgument
from services.room.accounts.service import AccountPolicy, Accounts
from services.room.config import RoomSettings
from services.room.store.registry import StoreOptions, default_url, open_store


def run(args: argparse.Namespace) -> int:
    """Run one `chimera admin` command; the exit status."""
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = RoomSettings(**overrides)
    try:
        return asyncio.run(_run(args, settings))
    except ChimeraError as exc:
        print(f"chimera admin: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: RoomSettings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.database_url or default_url(settings.data_dir)
    store = await open_store(url, StoreOptions(outbox=True))
    try:
        accounts = Accounts(store.accounts, policy=AccountPolicy.from_settings(settings))
        await COMMANDS[args.admin_command](accounts, args)
        return 0
    finally:
        await store.close()


def read_password(args: argparse.Namespace) -> str:
    """The new password: stdin's first line with --password-stdin, else asked twice."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise InvalidArgument("The passwords do not match.")
    return password


async def _create_admin(accounts: Accounts, args: argparse.Namespace) -> None:
    existing = await accounts.repo.get_by_username(args.username.strip().lower())
    password = None if existing is not None else read_password(args)
    account, created = await accounts.make_admin(args.username, password)
    done = "created, an administrator" if created else "is an administrator now"
    print(f"{account.username} ({account.id}): {done}")


async def _reset_password(accounts: Accounts, args: argparse.Namespace) -> None:
    await accounts.by_username(args.username)  # fails before asking for a password
    account = await accounts.reset_password(args.username, read_password(args))
    print(f"password reset for {account.username}; its sessions have ended")


async def _list_users(accounts: Accounts, args: argparse.Namespace) -> None:
    rows = [("ID", "USERNAME", "NAME", "KIND", "ADMIN", "DISABLED", "CREATED")]
    for a in await accounts.repo.list_accounts(max(args.limit, 1)):
        rows.append(
            (
                a.id,
                a.username or "-",
                a.name,
                a.kind,
                "yes" if a.admin else "no",
                "yes" if a.disabled else "no",
                a.created_at.strftime("%Y-%m-%d %H:%M"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


async def _disable(accounts: Accounts, args: argparse.Namespace) -> None:
    account = await accounts.disable_by_username(args.username, True)
    print(f"disabled {account.username}: its credentials and open WebSockets end")


async def _enable(accounts: Accounts, args: argparse.Namespace) -> None:
    account = await accounts.disable_by_username(args.username, False)
    print(f"enabled {account.username}")


COMMANDS: dict[str, Callable[[Accounts, argparse.Namespace], Awaitable[None]]] = {
    "create-admin": _create_admin,
    "reset-password": _reset_password,
    "list-users": _list_users,
    "disable": _disable,
    "enable": _enable,
}
