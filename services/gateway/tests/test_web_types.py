"""The web app's committed wire types are exactly what scripts/gen_web_types.py produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "frontend" / "src" / "api" / "schema.gen.ts"


def test_regenerating_the_web_types_changes_nothing(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_web_types.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = (tmp_path / COMMITTED.name).read_text(encoding="utf-8")
    assert COMMITTED.read_text(encoding="utf-8") == fresh, (
        f"{COMMITTED.relative_to(ROOT)} is stale: run scripts/gen_web_types.py"
    )
    assert "export type ServerFrame =" in fresh and "export interface RoomOut {" in fresh
