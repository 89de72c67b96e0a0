"""Event entity: motion_started, motion_labelled, motion_ended and alarm, for automations
and the logbook; each carries the event's label and confidence so far."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.event import EventDeviceClass, EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_ALARM, EVENT_MOTION_ENDED, EVENT_MOTION_LABELLED, EVENT_MOTION_STARTED
from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription

PARALLEL_UPDATES = 0

# What the entity keeps of a bus event (the rest names the camera, which it is).
EVENT_ATTRIBUTES = ("event_id", "score", "box", "label", "confidence")


@dataclass(frozen=True, kw_only=True)
class PrivacyCamEventEntityDescription(EventEntityDescription, PrivacyCamEntityDescription):
    """History: usable while the camera is down."""

    follows_camera: bool = False


MOTION_EVENT = PrivacyCamEventEntityDescription(
    key="motion_event",
    translation_key="motion",
    device_class=EventDeviceClass.MOTION,
    event_types=[EVENT_MOTION_STARTED, EVENT_MOTION_LABELLED, EVENT_MOTION_ENDED, EVENT_ALARM],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([MotionEventEntity(entry, MOTION_EVENT)])


class MotionEventEntity(PrivacyCamEntity, EventEntity):
    """Each motion start and end (and alarm) is an event: its write is not a change check."""

    entity_description: PrivacyCamEventEntityDescription

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.runtime.async_add_motion_listener(self._async_handle))

    @callback
    def _async_handle(self, event_type: str, data: dict[str, Any]) -> None:
        attributes = {k: v for k, v in data.items() if k in EVENT_ATTRIBUTES}
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
