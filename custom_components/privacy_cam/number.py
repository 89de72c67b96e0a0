"""Sensitivity as a number entity, applied live and kept in the entry options."""

from __future__ import annotations

from homeassistant.components.number import NumberEntity, NumberMode
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SENSITIVITY
from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity
from .source_config import motion_settings

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([SensitivityNumber(entry)])


class SensitivityNumber(PrivacyCamEntity, NumberEntity):
    follows_camera = False
    _attr_translation_key = "sensitivity"
    _attr_entity_category = EntityCategory.CONFIG
    _attr_native_min_value = 1
    _attr_native_max_value = 100
    _attr_native_step = 1
    _attr_mode = NumberMode.SLIDER

    def __init__(self, entry: PrivacyCamConfigEntry) -> None:
        super().__init__(entry, "sensitivity")
        self._entry = entry

    @property
    def native_value(self) -> float:
        return float(self.runtime.watcher.settings.sensitivity)

    async def async_set_native_value(self, value: float) -> None:
        options = {**self._entry.options, CONF_SENSITIVITY: round(value)}
        # Updating options outside the options flow does not reload the entry.
        self.hass.config_entries.async_update_entry(self._entry, options=options)
        self.runtime.async_update_settings(motion_settings(options))
