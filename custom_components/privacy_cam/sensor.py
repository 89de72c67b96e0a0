"""The time of the last motion, kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity
from .runtime import media_content_id

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([LastMotionSensor(entry), LastClipSensor(entry), StorageUsedSensor(entry)])


class LastMotionSensor(PrivacyCamEntity, RestoreSensor):
    follows_camera = False
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_translation_key = "last_motion"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "last_motion")
        self._restored: datetime | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if (data := await self.async_get_last_sensor_data()) is not None and isinstance(
            data.native_value, datetime
        ):
            self._restored = data.native_value

    @property
    def native_value(self) -> datetime | None:
        return self.runtime.last_motion or self._restored


class LastClipSensor(PrivacyCamEntity, SensorEntity):
    """When the latest clip started; its media ID is an attribute for automations."""

    follows_camera = False
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _attr_translation_key = "last_clip"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "last_clip")

    @property
    def native_value(self) -> datetime | None:
        clip = self.runtime.last_clip
        return None if clip is None else datetime.fromtimestamp(clip.start, UTC)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        clip = self.runtime.last_clip
        if clip is None:
            return {}
        return {
            "clip_id": clip.id,
            "media_content_id": media_content_id(clip.id),
            "duration": clip.duration,
            "reason": clip.reason,
        }


class StorageUsedSensor(PrivacyCamEntity, SensorEntity):
    """Disk space taken by this camera's clips."""

    follows_camera = False
    _attr_device_class = SensorDeviceClass.DATA_SIZE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfInformation.MEGABYTES
    _attr_suggested_display_precision = 1
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "storage_used"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "storage_used")

    @property
    def native_value(self) -> float:
        used = self.runtime.shared.store.used_bytes(owner=self.runtime.entry.entry_id)
        return used / 1_000_000
