"""The time of the last motion, kept across restarts."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.sensor import RestoreSensor, SensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([LastMotionSensor(entry)])


class LastMotionSensor(PrivacyCamEntity, RestoreSensor):
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_translation_key = "last_motion"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "last_motion")
        self._restored: datetime | None = None

    @property
    def available(self) -> bool:
        return True

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if (data := await self.async_get_last_sensor_data()) is not None and isinstance(
            data.native_value, datetime
        ):
            self._restored = data.native_value

    @property
    def native_value(self) -> datetime | None:
        return self.runtime.last_motion or self._restored
