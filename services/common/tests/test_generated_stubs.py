"""The committed gRPC stubs are exactly what scripts/gen_protos.py produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "services" / "common" / "pb"


def test_regenerating_the_stubs_changes_nothing(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = {p.name: p.read_text() for p in tmp_path.iterdir() if p.is_file()}
    committed = {p.name: p.read_text() for p in COMMITTED.iterdir() if p.is_file()}
    assert sorted(fresh) == sorted(committed), "stub files differ: run scripts/gen_protos.py"
    for name, text in fresh.items():
        assert committed[name] == text, f"{name} is stale: run scripts/gen_protos.py"
    assert any(name.endswith(".pyi") for name in fresh)
