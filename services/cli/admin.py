"""`chimera admin`: its commands and flags; what they do is services/room/accounts/admin.py."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chimera admin` and its commands to the `chimera` parser."""
    admin = sub.add_parser(
        "admin",
        help="manage accounts on the database directly (works before the services run)",
        description="Works on the room service's database (CHIMERA_DATABASE_URL or the data "
        "dir's SQLite file), migrating it first. What it disables or ends fails at once; a "
        "running room service closes the open WebSockets too.",
    )
    admin.add_argument("--data-dir", help="where data lives (default: CHIMERA_DATA_DIR or ./data)")
    commands = admin.add_subparsers(dest="admin_command", required=True)
    for name, help_text in (
        ("create-admin", "create an administrator, or make an existing account one"),
        ("reset-password", "set a new password; the account's sessions end"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--username", required=True)
        command.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin instead of prompting",
        )
    listing = commands.add_parser("list-users", help="list accounts, newest first")
    listing.add_argument("--limit", type=int, default=1000)
    for name, help_text in (
        ("disable", "disable an account: every credential fails"),
        ("enable", "enable a disabled account"),
    ):
        commands.add_parser(name, help=help_text).add_argument("--username", required=True)
    admin.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one `chimera admin` command; the exit status."""
    # Imported here: the store (SQLAlchemy, the migrations) loads only for `chimera admin`.
    from services.room.accounts.admin import run as run_command

    return run_command(args)
