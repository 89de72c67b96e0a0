"""Typed runtime data of a Privacy Cam config entry."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .runtime import CameraRuntime


@dataclass(slots=True)
class PrivacyCamData:
    """What a loaded camera entry holds."""

    runtime: CameraRuntime


type PrivacyCamConfigEntry = ConfigEntry[PrivacyCamData]
