"""The room service refuses a database URL that names no store, before serving anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def test_a_database_url_naming_no_store_stops_the_room_service_with_the_setting(
    tmp_path: Path,
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env = clean | {
        "CHIMERA_DATABASE_URL": "mysql+aiomysql://db/chimera",
        "CHIMERA_DATA_DIR": str(tmp_path / "data"),
        "CHIMERA_ROOM_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "services.room.server"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CHIMERA_DATABASE_URL: no store for 'mysql' URLs" in result.stdout + result.stderr
