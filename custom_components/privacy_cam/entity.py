"""Base entity: one device per camera, state pushed from the camera runtime.

Every platform describes its entities in a table: a tuple of frozen entity
descriptions whose functions read (`value_fn`) and change (`set_fn`) the runtime,
read by one generic entity class (the pattern of Home Assistant's reolink).

The runtime notifies every entity of every change it makes. An entity writes its
state only when what it shows changed (as unifiprotect's entities do): it keeps the
values it last wrote and compares them with the current ones on each notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

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


@dataclass(frozen=True, kw_only=True)
class PrivacyCamEntityDescription(EntityDescription):
    """What every Privacy Cam entity description has.

    `follows_camera`: unavailable while the camera is down. Controls, history and
    stored data do not follow it (their platforms say so): they are the way back
    from privacy mode and still tell the truth during an outage.
    """

    follows_camera: bool = True


class PrivacyCamEntity(Entity):
    """Shared plumbing for every Privacy Cam entity."""

    entity_description: PrivacyCamEntityDescription
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, entry: PrivacyCamConfigEntry, description: PrivacyCamEntityDescription
    ) -> None:
        self.entity_description = description
        self.runtime: CameraRuntime = entry.runtime_data.runtime
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Privacy Cam",
            model=MODELS[entry.data[CONF_KIND]],
        )
        self._written: tuple[Any, ...] | None = None

    @property
    def available(self) -> bool:
        if not self.entity_description.follows_camera:
            return True
        # In privacy mode the camera is off on purpose, not broken.
        return self.runtime.available or not self.runtime.is_on

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.async_add_listener(self._async_runtime_updated))

    @callback
    def _async_update_from_runtime(self) -> None:
        """Copy what the runtime changed into the entity's own attributes, if it keeps any."""

    @callback
    def _async_runtime_updated(self) -> None:
        """The runtime changed something: write the state if this entity's changed."""
        self._async_update_from_runtime()
        if self._state_values() != self._written:
            self.async_write_ha_state()

    def _state_values(self) -> tuple[Any, ...]:
        """The properties Home Assistant builds this entity's state from that can change.

        The rest (name, icon, unit, device class, features) are fixed by the
        description; Home Assistant writes the state itself when the registry
        overrides them.
        """
        return (
            self.available,
            self.state,
            self.capability_attributes,
            self.state_attributes,
            self.extra_state_attributes,
            self.entity_picture,
        )

    @callback
    def async_write_ha_state(self) -> None:
        """Every write (ours, Home Assistant's, an event's) records what was written."""
        super().async_write_ha_state()
        self._written = self._state_values()

    async def async_update_ha_state(self, force_refresh: bool = False) -> None:
        """`homeassistant.update_entity` writes through here, not `async_write_ha_state`."""
        await super().async_update_ha_state(force_refresh)
        self._written = self._state_values()
