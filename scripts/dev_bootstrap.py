"""Prepare config/ for scripts/develop: onboarded, a dev login, the demo camera, a dashboard.

Uses Home Assistant's own auth and storage helpers (like `hass --script auth`),
so the files match the installed version. Only writes what is missing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from types import MappingProxyType

from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.components.onboarding.const import STEPS
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
)
from homeassistant.config_entries import (
    STORAGE_KEY as ENTRIES_KEY,
)
from homeassistant.config_entries import (
    STORAGE_VERSION as ENTRIES_VERSION,
)
from homeassistant.config_entries import (
    STORAGE_VERSION_MINOR as ENTRIES_MINOR,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store

DEV_USER = DEV_PASSWORD = "dev"  # noqa: S105 - documented dev-only login on 127.0.0.1
DEMO_CAMERA = "camera.demo_camera"

DASHBOARD = {
    "title": "Privacy Cam",
    "views": [
        {
            "title": "Cameras",
            "path": "cameras",
            "icon": "mdi:cctv",
            "cards": [
                {
                    "type": "picture-entity",
                    "entity": DEMO_CAMERA,
                    "camera_view": "live",
                    "name": "Demo camera (live)",
                },
                {
                    "type": "entities",
                    "title": "Demo camera",
                    "entities": [
                        "binary_sensor.demo_camera_motion",
                        "binary_sensor.demo_camera_alarm",
                        "switch.demo_camera_armed",
                        "switch.demo_camera_privacy_mode",
                        "switch.demo_camera_motion_detection",
                        "number.demo_camera_sensitivity",
                        "sensor.demo_camera_last_motion",
                        "event.demo_camera_motion",
                        "switch.demo_camera_recording",
                        "sensor.demo_camera_last_clip",
                        "sensor.demo_camera_storage_used",
                    ],
                },
                {
                    "type": "picture-entity",
                    "entity": "image.demo_camera_last_motion",
                    "name": "Last motion (thumbnail of the latest clip)",
                },
                {
                    "type": "history-graph",
                    "title": "Motion",
                    "hours_to_show": 1,
                    "entities": [
                        "binary_sensor.demo_camera_motion",
                        "binary_sensor.demo_camera_alarm",
                    ],
                },
            ],
        }
    ],
}


async def bootstrap(config_dir: Path) -> None:
    hass = HomeAssistant(str(config_dir))
    await asyncio.gather(dr.async_load(hass), er.async_load(hass))
    hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    provider = hass.auth.auth_providers[0]
    await provider.async_initialize()
    if not await hass.auth.async_get_users():
        await provider.async_add_auth(DEV_USER, DEV_PASSWORD)  # type: ignore[attr-defined]
        credentials = await provider.async_get_or_create_credentials({"username": DEV_USER})
        user = await hass.auth.async_create_user("Developer", group_ids=[GROUP_ID_ADMIN])
        await hass.auth.async_link_user(user, credentials)
        print(f"dev_bootstrap: created owner login {DEV_USER}/{DEV_PASSWORD}")

    onboarding: Store[dict] = Store(hass, 4, "onboarding", private=True)
    if await onboarding.async_load() is None:
        await onboarding.async_save({"done": list(STEPS)})

    entries: Store[dict] = Store(hass, ENTRIES_VERSION, ENTRIES_KEY, minor_version=ENTRIES_MINOR)
    if await entries.async_load() is None:
        demo = ConfigEntry(
            data={"kind": "demo"},
            discovery_keys=MappingProxyType({}),
            domain="privacy_cam",
            minor_version=1,
            options={},
            source=SOURCE_USER,
            subentries_data=None,
            title="Demo camera",
            unique_id="demo",
            version=1,
        )
        await entries.async_save({"entries": [demo.as_storage_fragment]})
        print("dev_bootstrap: added the Privacy Cam demo camera")

    # HA 2026.2 moves the default dashboard from "lovelace" to "lovelace.lovelace" on
    # first start; keep whichever holds our dashboard current, else seed the old key.
    seeded = False
    for key in ("lovelace.lovelace", "lovelace"):
        dashboard: Store[dict] = Store(hass, 1, key)
        stored = await dashboard.async_load()
        if stored is not None:
            seeded = True
            if stored.get("config", {}).get("title") == DASHBOARD["title"]:
                await dashboard.async_save({"config": DASHBOARD})
    if not seeded:
        await Store(hass, 1, "lovelace").async_save({"config": DASHBOARD})

    logging.getLogger("homeassistant.core").setLevel(logging.WARNING)
    await hass.async_stop()


if __name__ == "__main__":
    asyncio.run(bootstrap(Path(sys.argv[1]).resolve()))
