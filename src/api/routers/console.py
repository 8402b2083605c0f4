"""The web console: one static page that talks to the JSON API with the user's API key."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
INDEX = Path(__file__).resolve().parent.parent / "console" / "index.html"


@router.get("/")
def console() -> FileResponse:
    return FileResponse(INDEX, media_type="text/html")
