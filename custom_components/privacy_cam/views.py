"""Authenticated HTTP view for clips and thumbnails (Range requests for seeking)."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView

from .engine.recording.clipstore import CLIP_ID_RE
from .engine.sharing.reports import REPORT_ID_RE
from .sharing import DATA_SHARING, REPORT_URL
from .storage import DATA_STORE

CLIP_URL = "/api/privacy_cam/clip/{clip_id}.{ext}"
CONTENT_TYPES = {"mp4": "video/mp4", "jpg": "image/jpeg"}
# Clips: the browser may keep one briefly (seeking re-reads it), never a shared cache;
# a deleted clip stops playing within a minute even from the browser's cache.
CLIP_CACHE = "private, max-age=60"
# Report previews: never stored anywhere (they may be withdrawn or discarded).
PREVIEW_CACHE = "no-store, private"


def clip_url(clip_id: str, ext: str = "mp4") -> str:
    return CLIP_URL.format(clip_id=clip_id, ext=ext)


class ClipView(HomeAssistantView):
    """Serves only files the clip index knows; IDs are validated, paths never taken."""

    url = CLIP_URL
    name = "api:privacy_cam:clip"
    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def get(self, request: web.Request, clip_id: str, ext: str) -> web.StreamResponse:
        if ext not in CONTENT_TYPES or not CLIP_ID_RE.fullmatch(clip_id):
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        shared = self.hass.data.get(DATA_STORE)
        if shared is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path = await self.hass.async_add_executor_job(shared.store.file_for, clip_id, ext == "jpg")
        if path is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        # aiohttp's FileResponse answers Range requests (seeking) and streams from disk.
        return web.FileResponse(
            path,
            headers={"Content-Type": CONTENT_TYPES[ext], "Cache-Control": CLIP_CACHE},
        )


class ReportView(HomeAssistantView):
    """The exact package a report would send, for the owner to watch before consenting.

    Admins only: consent is an admin's act, and the preview is part of it. The
    consent dialog links here with a signed, expiring URL (signed for the admin's
    own session, so the admin check below still applies).
    """

    url = REPORT_URL
    name = "api:privacy_cam:report"
    requires_auth = True

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass

    async def get(self, request: web.Request, report_id: str) -> web.StreamResponse:
        if not request[KEY_HASS_USER].is_admin:
            return web.Response(status=HTTPStatus.FORBIDDEN)
        if not REPORT_ID_RE.fullmatch(report_id):
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        sharing = self.hass.data.get(DATA_SHARING)
        if sharing is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path = sharing.reports.clip_path(report_id)
        if not await self.hass.async_add_executor_job(path.is_file):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(
            path, headers={"Content-Type": "video/mp4", "Cache-Control": PREVIEW_CACHE}
        )
