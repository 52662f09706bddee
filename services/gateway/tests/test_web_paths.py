"""Web-app paths that can name no file are a quiet 404, never a 500 or the app's page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings

pytestmark = pytest.mark.unit

UNMAPPABLE = [
    "/%00",
    "/assets/a%00.js",
    "/" + "x" * 300,
    "/" + "/".join(["y" * 200] * 30),
    "/assets%2Fapp.js",
    "/..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/assets/%2e%2e/%2e%2e/secret.txt",
    "/%ff",
    "/a%0ab",
    "/a%5cb",
]


@pytest.fixture
def http(tmp_path: Path) -> TestClient:
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<html>app</html>")
    (tmp_path / "dist" / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside dist")
    settings = GatewaySettings(data_dir=tmp_path / "data", frontend_dir=tmp_path / "dist")
    return TestClient(create_app(settings))


@pytest.mark.parametrize("path", UNMAPPABLE)
def test_an_unmappable_path_is_a_404(http: TestClient, path: str) -> None:
    reply = http.get(path)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_files_and_client_routes_are_still_served(http: TestClient) -> None:
    assert http.get("/assets/app.js").text == "console.log(1)"
    assert http.get("/rooms/some-room").text == "<html>app</html>"
    assert http.get("/rooms/%C3%A9t%C3%A9").text == "<html>app</html>"  # valid UTF-8
