"""Sensitivity as a number entity, applied live and kept in the entry options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SENSITIVITY
from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription
from .runtime import CameraRuntime
from .source_config import motion_settings

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamNumberEntityDescription(NumberEntityDescription, PrivacyCamEntityDescription):
    """A setting of the camera (usable while the camera is down)."""

    follows_camera: bool = False
    value_fn: Callable[[CameraRuntime], float]
    set_fn: Callable[[HomeAssistant, CameraRuntime, float], None]


def _set_sensitivity(hass: HomeAssistant, runtime: CameraRuntime, value: float) -> None:
    entry = runtime.entry
    options = {**entry.options, CONF_SENSITIVITY: round(value)}
    # Updating options outside the options flow does not reload the entry.
    hass.config_entries.async_update_entry(entry, options=options)
    runtime.async_update_settings(motion_settings(options))


NUMBERS: tuple[PrivacyCamNumberEntityDescription, ...] = (
    PrivacyCamNumberEntityDescription(
        key="sensitivity",
        translation_key="sensitivity",
        entity_category=EntityCategory.CONFIG,
        native_min_value=1,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=lambda runtime: float(runtime.pipeline.watcher.settings.sensitivity),
        set_fn=_set_sensitivity,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(PrivacyCamNumber(entry, description) for description in NUMBERS)


class PrivacyCamNumber(PrivacyCamEntity, NumberEntity):
    """A number described by a `PrivacyCamNumberEntityDescription`."""

    entity_description: PrivacyCamNumberEntityDescription

    @property
    def native_value(self) -> float:
        return self.entity_description.value_fn(self.runtime)

    async def async_set_native_value(self, value: float) -> None:
        self.entity_description.set_fn(self.hass, self.runtime, value)
