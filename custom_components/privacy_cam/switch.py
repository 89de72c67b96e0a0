"""Switches: motion detection, armed, privacy mode, recording (all survive restarts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import PrivacyCamConfigEntry
from .entity import PrivacyCamEntity, PrivacyCamEntityDescription
from .runtime import CameraRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrivacyCamSwitchEntityDescription(SwitchEntityDescription, PrivacyCamEntityDescription):
    """A switch over one of the camera's stored flags (usable while the camera is down)."""

    follows_camera: bool = False
    value_fn: Callable[[CameraRuntime], bool]
    set_fn: Callable[[CameraRuntime, bool], Awaitable[None]]


SWITCHES: tuple[PrivacyCamSwitchEntityDescription, ...] = (
    PrivacyCamSwitchEntityDescription(
        key="motion_detection",
        translation_key="motion_detection",
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda runtime: runtime.flags.motion_detection,
        set_fn=lambda runtime, on: runtime.async_set_flag("motion_detection", on),
    ),
    PrivacyCamSwitchEntityDescription(
        key="armed",
        translation_key="armed",
        value_fn=lambda runtime: runtime.flags.armed,
        set_fn=lambda runtime, on: runtime.async_set_flag("armed", on),
    ),
    PrivacyCamSwitchEntityDescription(
        key="privacy_mode",
        translation_key="privacy_mode",
        value_fn=lambda runtime: runtime.flags.privacy_mode,
        set_fn=lambda runtime, on: runtime.async_set_flag("privacy_mode", on),
    ),
    PrivacyCamSwitchEntityDescription(
        key="recording",
        translation_key="recording",
        value_fn=lambda runtime: runtime.flags.recording,
        set_fn=lambda runtime, on: runtime.async_set_flag("recording", on),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrivacyCamConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(PrivacyCamSwitch(entry, description) for description in SWITCHES)


class PrivacyCamSwitch(PrivacyCamEntity, SwitchEntity):
    """A switch described by a `PrivacyCamSwitchEntityDescription`."""

    entity_description: PrivacyCamSwitchEntityDescription

    @property
    def is_on(self) -> bool:
        return bool(self.entity_description.value_fn(self.runtime))

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.entity_description.set_fn(self.runtime, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.entity_description.set_fn(self.runtime, False)
