"""Diagnostics: configuration and source health, with every credential redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .data import PrivacyCamConfigEntry
from .engine.urls import redact_url, scrub

TO_REDACT = {CONF_PASSWORD, CONF_USERNAME}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrivacyCamConfigEntry
) -> dict[str, Any]:
    runtime = entry.runtime_data.runtime
    source = runtime.source
    secrets = source.config.secrets
    data = async_redact_data(dict(entry.data), TO_REDACT)
    if CONF_URL in data:
        data[CONF_URL] = redact_url(data[CONF_URL])
    stats = source.stats.as_dict()
    if stats["last_error"]:
        stats["last_error"] = scrub(str(stats["last_error"]), *secrets)
    return {
        "entry": {"title": entry.title, "data": data, "options": dict(entry.options)},
        "learning": runtime.learning.as_list(),
        "source": {
            "state": source.state.value,
            "available": runtime.available,
            "stream_url": redact_url(source.config.url) if source.config.url else None,
            **stats,
        },
    }
