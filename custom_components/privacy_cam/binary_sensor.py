"""Motion and alarm binary sensors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .engine.classify import Label
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription
from .runtime import CameraRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamBinarySensorEntityDescription(
    BinarySensorEntityDescription, PrivacyCamEntityDescription
):
    """A binary sensor over the runtime's live state (unavailable while the camera is down)."""

    value_fn: Callable[[CameraRuntime], bool]
    attributes_fn: Callable[[CameraRuntime], dict[str, Any]] | None = None
    # Also unavailable when this is False (e.g. labels without a detector).
    available_fn: Callable[[CameraRuntime], bool] | None = None


def _learning_attributes(runtime: CameraRuntime) -> dict[str, Any]:
    """Local learning at a glance: what was learned from false-alarm reports."""
    learning = runtime.learning
    return {
        # Reports that taught a nuisance (a walker's clip teaches nothing).
        "learned_nuisance_regions": sum(1 for lesson in learning.lessons if lesson.cells),
        "false_alarm_reports": len(learning.lessons),
        "learned_cells_percent": round(100 * learning.share, 1),
    }


def _labelled(label: Label) -> Callable[[CameraRuntime], bool]:
    return lambda runtime: runtime.motion and runtime.label is label


BINARY_SENSORS: tuple[PrivacyCamBinarySensorEntityDescription, ...] = (
    # On while a motion event is open.
    PrivacyCamBinarySensorEntityDescription(
        key="motion",
        translation_key="motion",
        device_class=BinarySensorDeviceClass.MOTION,
        value_fn=lambda runtime: runtime.motion,
        attributes_fn=_learning_attributes,
    ),
    # On when motion starts while armed (and detection is on), until that event ends.
    PrivacyCamBinarySensorEntityDescription(
        key="alarm",
        translation_key="alarm",
        value_fn=lambda runtime: runtime.alarm,
    ),
    *(
        # On while an event labelled so (its best label so far) is open; unavailable
        # when the detector is (no ncnn, or a model that failed its checksum).
        PrivacyCamBinarySensorEntityDescription(
            key=label.value,
            translation_key=label.value,
            device_class=BinarySensorDeviceClass.OCCUPANCY,
            value_fn=_labelled(label),
            available_fn=lambda runtime: runtime.labels_available,
        )
        for label in (Label.PERSON, Label.VEHICLE, Label.ANIMAL)
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(PrivacyCamBinarySensor(entry, description) for description in BINARY_SENSORS)


class PrivacyCamBinarySensor(PrivacyCamEntity, BinarySensorEntity):
    """A binary sensor described by a `PrivacyCamBinarySensorEntityDescription`."""

    entity_description: PrivacyCamBinarySensorEntityDescription

    @property
    def available(self) -> bool:
        available_fn = self.entity_description.available_fn
        return super().available and (available_fn is None or available_fn(self.runtime))

    @property
    def is_on(self) -> bool:
        return self.entity_description.value_fn(self.runtime)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.runtime)
