"""Sensors: the last motion (kept across restarts), the last clip, the storage used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfInformation
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription
from .media_source import media_content_id

if TYPE_CHECKING:
    from .runtime import CameraRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamSensorEntityDescription(SensorEntityDescription, PrivacyCamEntityDescription):
    """A sensor over the camera's history or stored data (usable while the camera is down)."""

    follows_camera: bool = False
    value_fn: Callable[[CameraRuntime], datetime | float | None]
    attributes_fn: Callable[[CameraRuntime], dict[str, Any]] | None = None
    # A timestamp kept across restarts: the restored one is shown until there is a new one.
    restore: bool = False


def _last_clip_start(runtime: CameraRuntime) -> datetime | None:
    clip = runtime.last_clip
    return None if clip is None else datetime.fromtimestamp(clip.start, UTC)


def _last_clip_attributes(runtime: CameraRuntime) -> dict[str, Any]:
    """The latest clip's media ID is an attribute for automations."""
    clip = runtime.last_clip
    if clip is None:
        return {}
    return {
        "clip_id": clip.id,
        "media_content_id": media_content_id(clip.id),
        "duration": clip.duration,
        "reason": clip.reason,
    }


def _storage_used(runtime: CameraRuntime) -> float:
    """Disk space taken by this camera's clips, in MB."""
    used = runtime.shared.store.used_bytes(owner=runtime.entry.entry_id)
    return used / 1_000_000


SENSORS: tuple[PrivacyCamSensorEntityDescription, ...] = (
    PrivacyCamSensorEntityDescription(
        key="last_motion",
        translation_key="last_motion",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda runtime: runtime.last_motion,
        restore=True,
    ),
    PrivacyCamSensorEntityDescription(
        key="last_clip",
        translation_key="last_clip",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_clip_start,
        attributes_fn=_last_clip_attributes,
    ),
    PrivacyCamSensorEntityDescription(
        key="storage_used",
        translation_key="storage_used",
        device_class=SensorDeviceClass.DATA_SIZE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfInformation.MEGABYTES,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_storage_used,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(
        (PrivacyCamRestoreSensor if description.restore else PrivacyCamSensor)(entry, description)
        for description in SENSORS
    )


class PrivacyCamSensor(PrivacyCamEntity, SensorEntity):
    """A sensor described by a `PrivacyCamSensorEntityDescription`."""

    entity_description: PrivacyCamSensorEntityDescription

    @property
    def native_value(self) -> datetime | float | None:
        return self.entity_description.value_fn(self.runtime)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.runtime)


class PrivacyCamRestoreSensor(PrivacyCamSensor, RestoreSensor):
    """A timestamp sensor that shows its value from before a restart until there is a new one."""

    def __init__(
        self, entry: PrivacyCamConfigEntry, description: PrivacyCamSensorEntityDescription
    ) -> None:
        super().__init__(entry, description)
        self._restored: datetime | None = None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if (data := await self.async_get_last_sensor_data()) is not None and isinstance(
            data.native_value, datetime
        ):
            self._restored = data.native_value

    @property
    def native_value(self) -> datetime | float | None:
        return super().native_value or self._restored
