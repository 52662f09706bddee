"""The web app: the built frontend (frontend/dist) at `/`, with client-side routes falling back to it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Chimera</title>
<body>
<h1>Chimera</h1><p>The web app is not built yet: run <code>./scripts/dev.sh</code>, which builds
<code>frontend/</code>. The API is up: see <a href="/docs">/docs</a>.</p></body></html>"""
_API_PREFIXES = ("api/", "ws/", "docs", "openapi.json", "redoc", "healthz", "readyz")


def install_web_app(app: FastAPI, dist: Path) -> None:
    """Serve `dist` (index.html and its assets); unknown non-API paths get index.html."""
    router = APIRouter(include_in_schema=False)
    root = dist.resolve()

    @router.get("/{path:path}")
    async def web(path: str) -> Response:
        if path.startswith(_API_PREFIXES):
            raise HTTPException(404, "Not found.")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = (
                "public, max-age=31536000, immutable" if "/assets/" in f"/{path}" else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.include_router(router)
