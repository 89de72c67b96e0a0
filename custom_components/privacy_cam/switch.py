"""Switches: motion detection, armed, privacy mode (all survive restarts)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory
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
    async_add_entities(
        [
            FlagSwitch(entry, "motion_detection", EntityCategory.CONFIG),
            FlagSwitch(entry, "armed"),
            FlagSwitch(entry, "privacy_mode"),
            FlagSwitch(entry, "recording"),
        ]
    )


class FlagSwitch(PrivacyCamEntity, SwitchEntity):
    """A switch over one of the camera's stored flags."""

    follows_camera = False

    def __init__(
        self,
        entry: PrivacyCamConfigEntry,
        flag: str,
        category: EntityCategory | None = None,
    ) -> None:
        super().__init__(entry, flag)
        self._flag = flag
        self._attr_translation_key = flag
        self._attr_entity_category = category

    @property
    def is_on(self) -> bool:
        return bool(getattr(self.runtime.flags, self._flag))

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.runtime.async_set_flag(self._flag, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.runtime.async_set_flag(self._flag, False)
