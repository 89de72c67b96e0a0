"""Motion and alarm binary sensors."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
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
    async_add_entities([MotionSensor(entry), AlarmSensor(entry)])


class MotionSensor(PrivacyCamEntity, BinarySensorEntity):
    """On while a motion event is open."""

    _attr_device_class = BinarySensorDeviceClass.MOTION
    _attr_translation_key = "motion"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "motion")

    @property
    def is_on(self) -> bool:
        return self.runtime.motion

    @property
    def extra_state_attributes(self) -> dict[str, int | float]:
        """Local learning at a glance: what was learned from false-alarm reports."""
        learning = self.runtime.learning
        return {
            # Reports that taught a nuisance (a walker's clip teaches nothing).
            "learned_nuisance_regions": sum(1 for lesson in learning.lessons if lesson.cells),
            "false_alarm_reports": len(learning.lessons),
            "learned_cells_percent": round(100 * learning.share, 1),
        }


class AlarmSensor(PrivacyCamEntity, BinarySensorEntity):
    """On when motion starts while armed (and detection is on), until that event ends."""

    _attr_translation_key = "alarm"

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "alarm")

    @property
    def is_on(self) -> bool:
        return self.runtime.alarm
