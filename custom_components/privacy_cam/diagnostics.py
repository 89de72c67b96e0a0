"""Diagnostics: configuration and source health, with every credential redacted."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import (
    CONF_DETECT_PASSWORD,
    CONF_DETECT_URL,
    CONF_DETECT_USERNAME,
    CONF_KIND,
    KIND_DESTINATION,
)
from .data import PrivacyCamConfigEntry
from .engine.sharing.destinations import DestinationKind
from .engine.sources.urls import REDACTED, redact_url, scrub
from .share_destination import entry_destination
from .sharing import existing_sharing

TO_REDACT = {CONF_PASSWORD, CONF_USERNAME, CONF_DETECT_PASSWORD, CONF_DETECT_USERNAME}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrivacyCamConfigEntry
) -> dict[str, Any]:
    sharing = await _async_sharing_status(hass)
    if entry.data.get(CONF_KIND) == KIND_DESTINATION:
        destination = entry_destination(entry)
        info = destination.disclosure()
        # A webhook URL may carry a token in its path or query: host only.
        target = (
            _origin_only(destination.target)
            if destination.kind is DestinationKind.WEBHOOK
            else destination.target
        )
        return {"destination": {"title": entry.title, "target": target, **info}, **sharing}
    runtime = entry.runtime_data.runtime
    source, detect = runtime.pipeline.source, runtime.pipeline.detect_source
    secrets = (*source.config.secrets, *(detect.config.secrets if detect else ()))
    data = async_redact_data(dict(entry.data), TO_REDACT)
    for key in (CONF_URL, CONF_DETECT_URL):
        if key in data:
            data[key] = redact_url(data[key])
    stats = runtime.pipeline.stats()
    detection = stats.get("detection_stream")
    if detect is not None and isinstance(detection, dict):
        detection["stream_url"] = redact_url(detect.config.url)
    for part in (stats, detection):
        if isinstance(part, dict) and part.get("last_error"):
            part["last_error"] = scrub(str(part["last_error"]), *secrets)
    return {
        "entry": {"title": entry.title, "data": data, "options": dict(entry.options)},
        "learning": {
            "share": round(runtime.learning.share, 4),
            **runtime.learning.as_dict(),
            # The learned cells as a picture: '#' learned, one string per grid row,
            # and the same as a PNG (data URI) to paste into a browser.
            "cells": runtime.learning.rows(),
            "cells_png": "data:image/png;base64,"
            + base64.b64encode(runtime.learning.png()).decode(),
        },
        **sharing,
        # Why events get no person/vehicle/animal label, when they get none.
        "detector": {
            "labels_available": runtime.labels_available,
            "alarm_for": sorted(runtime.labels.alarm_for or ()) or "any motion",
            "threshold": runtime.labels.threshold,
            **(
                classifier.diagnostics()
                if (classifier := runtime.pipeline.classifier) is not None
                else {"state": "off", "unavailable_reason": "no classifier was started"}
            ),
        },
        "source": {
            "state": source.state.value,
            "available": runtime.available,
            "stream_url": redact_url(source.config.url) if source.config.url else None,
            **stats,
        },
    }


async def _async_sharing_status(hass: HomeAssistant) -> dict[str, Any]:
    """Audit chain and report counts; never clip content, hashes or who consented."""
    sharing = existing_sharing(hass)
    if sharing is None:
        return {"sharing": {"used": False}}
    _, status = await sharing.async_read_audit()
    counts: dict[str, int] = {}
    for report in sharing.reports.all():
        counts[report.status.value] = counts.get(report.status.value, 0) + 1
    return {"sharing": {"used": True, "audit": status.as_dict(), "reports": counts}}


def _origin_only(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{REDACTED}"
