"""Base entity: one device per camera, state pushed from the camera runtime."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import CONF_KIND, DOMAIN
from .data import PrivacyCamConfigEntry
from .runtime import CameraRuntime

MODELS = {
    "rtsp": "RTSP camera",
    "mjpeg": "MJPEG camera",
    "snapshot": "Snapshot camera",
    "camera_entity": "Wrapped Home Assistant camera",
    "demo": "Demo camera",
}


class PrivacyCamEntity(Entity):
    """Shared plumbing for every Privacy Cam entity."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    # Controls, history and stored data stay usable while the camera is down: they
    # are the way back from privacy mode and still tell the truth during an outage.
    follows_camera = True

    def __init__(self, entry: PrivacyCamConfigEntry, key: str) -> None:
        self.runtime: CameraRuntime = entry.runtime_data.runtime
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Privacy Cam",
            model=MODELS[entry.data[CONF_KIND]],
        )

    @property
    def available(self) -> bool:
        if not self.follows_camera:
            return True
        # In privacy mode the camera is off on purpose, not broken.
        return self.runtime.available or not self.runtime.is_on

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(self.runtime.async_add_listener(self.async_write_ha_state))
