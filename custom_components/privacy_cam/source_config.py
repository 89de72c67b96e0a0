"""Build the engine's SourceConfig from a config entry (HA glue)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components.camera import async_get_image, async_get_stream_source
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .const import (
    CONF_DETECT_FPS,
    CONF_DETECT_FRAMES,
    CONF_DETECT_PASSWORD,
    CONF_DETECT_URL,
    CONF_DETECT_USERNAME,
    CONF_ENTITY_ID,
    CONF_KIND,
    CONF_MAX_CLIP,
    CONF_POSTROLL,
    CONF_PREROLL,
    CONF_RECORD_MODE,
    CONF_RTSP_TRANSPORT,
    CONF_SNAPSHOT_INTERVAL,
    DEFAULT_MAX_CLIP,
    DEFAULT_POSTROLL,
    DEFAULT_PREROLL,
    DEFAULT_RECORD_MODE,
    DEFAULT_RTSP_TRANSPORT,
    DEFAULT_SNAPSHOT_INTERVAL,
    DETECT_KEYFRAMES,
    KIND_CAMERA_ENTITY,
    KIND_RTSP,
    MOTION_OPTIONS,
)
from .engine import ErrorKind, SourceConfig, SourceError
from .engine.motion.detector import MotionSettings
from .engine.pipeline import RecordMode, RecordPolicy
from .engine.sources.urls import normalise_url

FETCH_TIMEOUT = 10.0


def entity_image_fetcher(hass: HomeAssistant, entity_id: str) -> Callable[[], bytes]:
    """A blocking fetch (for the source thread) of another camera entity's image."""

    def fetch() -> bytes:
        future = asyncio.run_coroutine_threadsafe(
            async_get_image(hass, entity_id, timeout=int(FETCH_TIMEOUT)), hass.loop
        )
        try:
            return future.result(FETCH_TIMEOUT + 1).content
        except (HomeAssistantError, TimeoutError) as err:
            future.cancel()
            raise SourceError(
                ErrorKind.CANNOT_CONNECT, f"{entity_id} gave no image ({type(err).__name__})"
            ) from None

    return fetch


async def async_build_source_config(
    hass: HomeAssistant, data: Mapping[str, Any], options: Mapping[str, Any]
) -> SourceConfig:
    """Translate entry data and options into an engine SourceConfig."""
    kind = data[CONF_KIND]
    common: dict[str, Any] = {
        "kind": kind,
        "rtsp_transport": options.get(CONF_RTSP_TRANSPORT, DEFAULT_RTSP_TRANSPORT),
        "snapshot_interval": options.get(CONF_SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_INTERVAL),
        "analysis_fps": float(options.get(CONF_DETECT_FPS, MotionSettings().detect_fps)),
    }
    if kind == KIND_CAMERA_ENTITY:
        entity_id = data[CONF_ENTITY_ID]
        try:
            stream_url = await async_get_stream_source(hass, entity_id)
        except HomeAssistantError:
            raise SourceError(ErrorKind.CANNOT_CONNECT, f"{entity_id} is not available") from None
        return SourceConfig(
            **common, url=stream_url or "", fetch=entity_image_fetcher(hass, entity_id)
        )
    keyframes_only = options.get(CONF_DETECT_FRAMES) == DETECT_KEYFRAMES
    main = SourceConfig(
        **common,
        url=data.get(CONF_URL, ""),
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        verify_ssl=data.get(CONF_VERIFY_SSL, True),
    )
    if detect_source_config(data, options) is not None:
        # Recorded as sent; decoded only while the detection stream is down.
        return replace(main, decode=False, keyframes_only=keyframes_only)
    return replace(main, keyframes_only=True) if keyframes_only else main


def detect_source_config(
    data: Mapping[str, Any], options: Mapping[str, Any]
) -> SourceConfig | None:
    """The detection stream (an RTSP camera's substream), if the camera has one.

    Without a login of its own it uses the main stream's, but only on the main
    stream's own host and port: a mistyped or stale address never gets the password.
    """
    if data[CONF_KIND] != KIND_RTSP or not (url := data.get(CONF_DETECT_URL)):
        return None
    own = data.get(CONF_DETECT_USERNAME) is not None or data.get(CONF_DETECT_PASSWORD) is not None
    if own:
        username, password = data.get(CONF_DETECT_USERNAME), data.get(CONF_DETECT_PASSWORD)
    elif _same_origin(url, data.get(CONF_URL, "")):
        username, password = data.get(CONF_USERNAME), data.get(CONF_PASSWORD)
    else:
        username = password = None
    return SourceConfig(
        kind=KIND_RTSP,
        url=url,
        username=username or None,
        password=password or None,
        rtsp_transport=options.get(CONF_RTSP_TRANSPORT, DEFAULT_RTSP_TRANSPORT),
        analysis_fps=float(options.get(CONF_DETECT_FPS, MotionSettings().detect_fps)),
        keyframes_only=options.get(CONF_DETECT_FRAMES) == DETECT_KEYFRAMES,
    )


def _same_origin(url: str, other: str) -> bool:
    try:
        a, b = urlsplit(normalise_url(url)), urlsplit(normalise_url(other))
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    except ValueError:
        return False


def motion_settings(options: Mapping[str, Any]) -> MotionSettings:
    """Detector settings from entry options (validated when they were saved)."""
    return MotionSettings.from_dict({k: v for k, v in options.items() if k in MOTION_OPTIONS})


def recording_options(options: Mapping[str, Any]) -> RecordPolicy:
    return RecordPolicy(
        mode=RecordMode(options.get(CONF_RECORD_MODE, DEFAULT_RECORD_MODE)),
        preroll=float(options.get(CONF_PREROLL, DEFAULT_PREROLL)),
        postroll=float(options.get(CONF_POSTROLL, DEFAULT_POSTROLL)),
        max_length=float(options.get(CONF_MAX_CLIP, DEFAULT_MAX_CLIP)),
    )
