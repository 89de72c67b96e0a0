"""The clip store shared by all cameras, in Home Assistant's media folder."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, MAX_TOTAL_BYTES, MEDIA_FOLDER, MIN_FREE_BYTES
from .engine.recording.clipstore import CAMERA_RE, ClipStore, Retention, camera_slug
from .flags import FOLDER_KEY, state_store

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry


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


async def async_camera_folder(hass: HomeAssistant, entry: ConfigEntry, shared: SharedStore) -> str:
    """The camera's clip folder: chosen once, then read back, never re-derived.

    A new camera never takes a folder that holds clips of another camera (or of a
    removed one, or clips without an owner), nor one another camera already has.
    A camera set up before folders were remembered keeps the folder it had then,
    derived from its name as before, and claims the clips without an owner in it.
    """
    lock = hass.data.setdefault(DATA_FOLDER_LOCK, asyncio.Lock())
    async with lock:
        state = state_store(hass, entry.entry_id)
        stored = await state.async_load() or {}
        folder = stored.get(FOLDER_KEY)
        if not isinstance(folder, str) or not CAMERA_RE.fullmatch(folder):
            # Stored switches without a folder: a camera from before (migration).
            folder = await _async_choose_folder(hass, entry, shared, legacy=bool(stored))
            await state.async_save({**stored, FOLDER_KEY: folder})
        shared.cameras[folder] = entry.entry_id
        await hass.async_add_executor_job(shared.store.claim, folder, entry.entry_id)
    return folder


async def _async_choose_folder(
    hass: HomeAssistant, entry: ConfigEntry, shared: SharedStore, *, legacy: bool
) -> str:
    base = camera_slug(entry.title)
    suffix = camera_slug(entry.entry_id)
    candidates = [
        base,
        f"{base[:57]}_{suffix[-6:]}",
        f"{base[: max(1, 63 - len(suffix))]}_{suffix}"[:64],
    ]
    taken = {slug for slug, owner in shared.cameras.items() if owner != entry.entry_id}
    live = set(shared.cameras.values())
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.entry_id == entry.entry_id or other.entry_id in live:
            continue
        # Cameras not set up now (disabled, failing) keep their folders too.
        data = await state_store(hass, other.entry_id).async_load()
        if data and isinstance(folder := data.get(FOLDER_KEY), str):
            taken.add(folder)
    allowed: set[str | None] = {entry.entry_id, None} if legacy else {entry.entry_id}
    for folder in candidates:
        if folder in taken:
            continue
        owners = await hass.async_add_executor_job(shared.store.folder_owners, folder)
        if owners <= allowed:
            return folder
    return candidates[-1]
