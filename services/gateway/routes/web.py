"""The web app: the built frontend (frontend/dist) at `/`, with client-side routes falling back to it.

A path that can name no file under dist (a NUL or other control character, invalid UTF-8, an
encoded slash or backslash, a `.` or `..` segment, a name longer than a file system allows) is
neither a file nor a client route: it is a 404, without touching the file system.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Chimera</title>
<body>
<h1>Chimera</h1><p>The web app is not built yet: run <code>./scripts/dev.sh</code>, which builds
<code>frontend/</code>. The API is up: see <a href="/docs">/docs</a>.</p></body></html>"""
_API_PREFIXES = ("api/", "ws/", "docs", "openapi.json", "redoc", "healthz", "readyz")
MAX_PATH_CHARS = 1024  # longer than any file the build writes, far under PATH_MAX
MAX_NAME_BYTES = 255  # NAME_MAX of common file systems
_UNMAPPABLE_CHARS = frozenset(chr(c) for c in range(0x20)) | {"\x7f", "\\", "\ufffd"}
_ENCODED_SEPARATORS = (b"%2f", b"%5c")


def mappable(path: str, raw_path: bytes) -> bool:
    """Whether `path` (decoded, without the leading slash) could name a file under dist."""
    if len(path) > MAX_PATH_CHARS or any(sep in raw_path.lower() for sep in _ENCODED_SEPARATORS):
        return False
    if not _UNMAPPABLE_CHARS.isdisjoint(path):
        return False
    return all(
        part not in (".", "..") and len(part.encode()) <= MAX_NAME_BYTES for part in path.split("/")
    )


def install_web_app(app: FastAPI, dist: Path) -> None:
    """Serve `dist` (index.html and its assets); unknown non-API paths get index.html."""
    router = APIRouter(include_in_schema=False)
    root = dist.resolve()

    @router.get("/{path:path}")
    async def web(path: str, request: Request) -> Response:
        if path.startswith(_API_PREFIXES) or not mappable(path, request.scope.get("raw_path", b"")):
            raise HTTPException(404, "Not found.")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT)
        try:
            candidate = (root / path).resolve()
            found = bool(path) and candidate.is_file()
        except (OSError, ValueError):  # e.g. a path too long for this file system
            raise HTTPException(404, "Not found.") from None
        if found and not candidate.is_relative_to(root):
            raise HTTPException(404, "Not found.")  # a link out of dist
        if found:
            cache = (
                "public, max-age=31536000, immutable" if "/assets/" in f"/{path}" else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.include_router(router)
