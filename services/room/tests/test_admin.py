"""`chimera admin` on a database the services have never opened (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from services.cli.main import main
from services.common.errors import Unauthenticated
from services.room.accounts.passwords import Passwords
from services.room.accounts.service import Accounts
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.database import create_engine
from services.room.tests.conftest import FAST_HASHER

pytestmark = pytest.mark.unit

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def chimera(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """Run `chimera admin ...` against the test database; (exit status, stdout, stderr)."""
    monkeypatch.setenv("CHIMERA_DATABASE_URL", database_url)
    monkeypatch.setenv("CHIMERA_DATA_DIR", str(tmp_path / "data"))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exited:
            main(["admin", *argv])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run


def login(database_url: str, username: str, password: str) -> bool:
    """Whether the credentials sign in (checked with the room service's own logic)."""

    async def check() -> bool:
        engine = create_engine(database_url)
        try:
            accounts = Accounts(AccountRepository(engine), passwords=Passwords(FAST_HASHER))
            await accounts.login(username, password)
            return True
        except Unauthenticated:
            return False
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_create_admin_from_stdin_then_promote(chimera: Run, database_url: str) -> None:
    status, out, _ = chimera(
        "create-admin", "--username", "Root", "--password-stdin", stdin="s3cret password\n"
    )
    assert status == 0 and "root" in out and "created" in out
    assert login(database_url, "root", "s3cret password")

    # An existing account is promoted without asking for a password.
    status, out, _ = chimera("create-admin", "--username", "root")
    assert status == 0 and "is an administrator now" in out

    status, out, _ = chimera("list-users")
    header, row = out.splitlines()
    assert header.split() == ["ID", "USERNAME", "NAME", "KIND", "ADMIN", "DISABLED", "CREATED"]
    assert row.split()[1:6] == ["root", "root", "user", "yes", "no"]


def test_create_admin_prompts_twice(
    chimera: Run, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["first password", "second password", "good password", "good password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    status, _, err = chimera("create-admin", "--username", "root")
    assert status == 1 and "do not match" in err

    status, _, _ = chimera("create-admin", "--username", "root")
    assert status == 0 and login(database_url, "root", "good password")


def test_reset_password_disable_and_enable(chimera: Run, database_url: str) -> None:
    chimera("create-admin", "--username", "root", "--password-stdin", stdin="old password\n")

    status, out, _ = chimera(
        "reset-password", "--username", "ROOT", "--password-stdin", stdin="new password\n"
    )
    assert status == 0 and "sessions have ended" in out
    assert not login(database_url, "root", "old password")
    assert login(database_url, "root", "new password")

    assert chimera("disable", "--username", "root")[0] == 0
    assert not login(database_url, "root", "new password")
    assert chimera("list-users")[1].splitlines()[1].split()[5] == "yes"
    assert chimera("enable", "--username", "root")[0] == 0
    assert login(database_url, "root", "new password")


def test_errors_are_reported_without_a_traceback(chimera: Run) -> None:
    status, _, err = chimera("disable", "--username", "nobody")
    assert (status, err.strip()) == (1, "chimera admin: No account is named 'nobody'.")
    status, _, err = chimera(
        "create-admin", "--username", "root", "--password-stdin", stdin="short\n"
    )
    assert status == 1 and "Password must be between 8 and 256" in err
