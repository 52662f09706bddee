"""Serving the built web app next to the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings

pytestmark = pytest.mark.unit


def client(tmp_path: Path) -> TestClient:
    return TestClient(
        create_app(GatewaySettings(data_dir=tmp_path / "data", frontend_dir=tmp_path / "dist"))
    )


def test_without_a_build_the_root_says_how_to_build_it(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        page = http.get("/")
    assert page.status_code == 200 and "./scripts/dev.sh" in page.text


def test_the_app_its_assets_and_client_routes_are_served(tmp_path: Path) -> None:
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<html>chimera app</html>")
    (tmp_path / "dist" / "assets" / "app-1234.js").write_text("console.log(1)")
    with client(tmp_path) as http:
        assert http.get("/").text == "<html>chimera app</html>"
        assert http.get("/rooms/some-room").text == "<html>chimera app</html>"
        asset = http.get("/assets/app-1234.js")
        assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]


def test_unknown_api_paths_stay_json_errors(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<html>app</html>")
    with client(tmp_path) as http:
        reply = http.get("/api/nope")
    assert reply.status_code == 404
    assert reply.json() == {"error": {"code": "not_found", "message": "Not found."}}
