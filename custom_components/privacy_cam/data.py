"""Typed runtime data of Privacy Cam config entries, and the shared sharing key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .engine.sharing.destinations import Destination

if TYPE_CHECKING:
    # Only types: runtime.py imports the media source, which imports this module.
    from .runtime import CameraRuntime
    from .sharing import Sharing


@dataclass(slots=True)
class PrivacyCamData:
    """What a loaded camera entry holds."""

    runtime: CameraRuntime


@dataclass(slots=True, frozen=True)
class DestinationData:
    """What a loaded share-destination entry holds: the destination parsed (and
    validated) at set-up, and the entry data it was parsed from."""

    destination: Destination
    data: Mapping[str, Any]


type PrivacyCamConfigEntry = ConfigEntry[PrivacyCamData]
type DestinationConfigEntry = ConfigEntry[DestinationData]

# Here, not in sharing.py: the views and the media source read it, and sharing.py
# imports their URL and identifier builders.
DATA_SHARING: HassKey[Sharing] = HassKey(f"{DOMAIN}_sharing")
