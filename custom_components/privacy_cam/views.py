"""Authenticated HTTP views for clips, thumbnails and report previews (Range requests
for seeking). Every URL of this integration is built here, from its view's own `url`."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from .data import DATA_SHARING
from .engine.recording.clipstore import CLIP_ID_RE
from .engine.sharing.reports import REPORT_ID_RE
from .storage import DATA_STORE

CONTENT_TYPES = {"mp4": "video/mp4", "jpg": "image/jpeg"}
# Clips: the browser may keep one briefly (seeking re-reads it), never a shared cache;
# a deleted clip stops playing within a minute even from the browser's cache.
CLIP_CACHE = "private, max-age=60"
# Report previews: never stored anywhere (they may be withdrawn or discarded).
PREVIEW_CACHE = "no-store, private"


def _400() -> web.Response:
    return web.Response(status=HTTPStatus.BAD_REQUEST)


def _403() -> web.Response:
    return web.Response(status=HTTPStatus.FORBIDDEN)


def _404() -> web.Response:
    return web.Response(status=HTTPStatus.NOT_FOUND)


class PrivacyCamView(HomeAssistantView):
    """A logged-in user's view; answers carry a status and no body (nothing about what
    exists leaks), files are streamed from disk (aiohttp answers Range requests)."""

    url: str  # each view's route; its URLs are built from it (clip_url, report_url)
    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    @staticmethod
    def _file(path: Path, content_type: str, cache: str) -> web.FileResponse:
        return web.FileResponse(
            path, headers={"Content-Type": content_type, "Cache-Control": cache}
        )


class ClipView(PrivacyCamView):
    """Serves only files the clip index knows; IDs are validated, paths never taken."""

    url = "/api/privacy_cam/clip/{clip_id}.{ext}"
    name = "api:privacy_cam:clip"

    async def get(self, request: web.Request, clip_id: str, ext: str) -> web.StreamResponse:
        if ext not in CONTENT_TYPES or not CLIP_ID_RE.fullmatch(clip_id):
            return _400()
        shared = self.hass.data.get(DATA_STORE)
        if shared is None:
            return _404()
        path = await self.hass.async_add_executor_job(shared.store.file_for, clip_id, ext == "jpg")
        if path is None:
            return _404()
        return self._file(path, CONTENT_TYPES[ext], CLIP_CACHE)


class ReportView(PrivacyCamView):
    """The exact package a report would send, for the owner to watch before consenting.

    Admins only: consent is an admin's act, and the preview is part of it. The
    consent dialog links here with a signed, expiring URL (signed for the admin's
    own session, so the admin check below still applies).
    """

    url = "/api/privacy_cam/report/{report_id}.mp4"
    name = "api:privacy_cam:report"

    async def get(self, request: web.Request, report_id: str) -> web.StreamResponse:
        if not request[KEY_HASS_USER].is_admin:
            return _403()
        if not REPORT_ID_RE.fullmatch(report_id):
            return _400()
        sharing = self.hass.data.get(DATA_SHARING)
        if sharing is None:
            return _404()
        path = sharing.reports.clip_path(report_id)
        if not await self.hass.async_add_executor_job(path.is_file):
            return _404()
        return self._file(path, "video/mp4", PREVIEW_CACHE)


def clip_url(clip_id: str, ext: str = "mp4") -> str:
    """A clip (mp4) or its thumbnail (jpg), as ClipView serves it."""
    return ClipView.url.format(clip_id=clip_id, ext=ext)


def report_url(report_id: str) -> str:
    """A report's package (the consent preview), as ReportView serves it."""
    return ReportView.url.format(report_id=report_id)
