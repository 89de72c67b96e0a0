"""The clip store shared by all cameras, in Home Assistant's media folder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, MAX_TOTAL_BYTES, MEDIA_FOLDER, MIN_FREE_BYTES
from .engine.recording.clipstore import ClipStore, Retention


@dataclass(slots=True)
class SharedStore:
    store: ClipStore
    retention: Retention = field(
        default_factory=lambda: Retention(
            max_total_bytes=MAX_TOTAL_BYTES, min_free_bytes=MIN_FREE_BYTES
        )
    )
    # clip folder -> config entry id of the camera that has it (since this start);
    # which camera a clip belongs to is its `owner`, never its folder
    cameras: dict[str, str] = field(default_factory=dict)


DATA_STORE: HassKey[SharedStore] = HassKey(DOMAIN)
DATA_STORE_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_store_lock")
# Cameras choose their clip folders one at a time (two new cameras of one name).
DATA_FOLDER_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_folder_lock")


def media_root(hass: HomeAssistant) -> Path:
    """privacy_cam/ under the "local" media folder (HA's default media source)."""
    base = hass.config.media_dirs.get("local") or hass.config.path("media")
    return Path(base) / MEDIA_FOLDER


async def async_get_store(hass: HomeAssistant) -> SharedStore:
    """The shared store, loaded (and reconciled with the folder) once, on first use.

    Cameras set up together wait for the one load under the lock: two loads at once
    would both rebuild the index and race each other's writes. A failed load (OSError)
    leaves nothing behind, so the next setup attempt loads again.
    """
    if (shared := hass.data.get(DATA_STORE)) is not None:
        return shared
    lock = hass.data.setdefault(DATA_STORE_LOCK, asyncio.Lock())
    async with lock:
        if (shared := hass.data.get(DATA_STORE)) is None:
            store = ClipStore(media_root(hass), dt_util.get_default_time_zone())
            await hass.async_add_executor_job(store.load)
            shared = hass.data[DATA_STORE] = SharedStore(store)
    return shared
