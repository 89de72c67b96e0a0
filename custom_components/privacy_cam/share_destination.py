"""Share destinations from their config entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_URL

from .const import (
    CONF_DESTINATION_KIND,
    CONF_HUMANS_WATCH,
    CONF_PATH,
    CONF_PURPOSE,
    CONF_RECIPIENT,
    CONF_RECIPIENT_RETENTION,
    CONF_WITHDRAWAL,
    HUMANS_WATCH_NO,
    HUMANS_WATCH_YES,
)
from .engine.sharing.destinations import Destination, DestinationKind


def destination_from_data(entry_id: str, data: Mapping[str, Any]) -> Destination:
    kind = DestinationKind(data[CONF_DESTINATION_KIND])
    target_key = CONF_PATH if kind is DestinationKind.FOLDER else CONF_URL
    humans = {HUMANS_WATCH_YES: True, HUMANS_WATCH_NO: False}.get(data.get(CONF_HUMANS_WATCH, ""))
    return Destination(
        id=entry_id,
        kind=kind,
        target=str(data.get(target_key, "")),
        recipient=str(data.get(CONF_RECIPIENT, "")),
        purpose=str(data.get(CONF_PURPOSE, "")),
        humans_watch=humans,
        retention=str(data.get(CONF_RECIPIENT_RETENTION, "")),
        withdrawal=str(data.get(CONF_WITHDRAWAL, "")),
    )
