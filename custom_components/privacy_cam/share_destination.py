"""Share destinations: from their config entries, where they may write, and their
settings dialog (Configure): what was shared there, withdraw it, share a clip."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.http import current_request
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util import dt as dt_util

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
    LABEL_TITLES,
)
from .data import DestinationData
from .engine.sharing.destinations import Destination, DestinationKind, folder_problem
from .engine.sharing.reports import ReportStatus

RECENT_CLIPS = 30  # the share dialog offers this many of the newest clips
CONF_REPORT = "report"
CONF_CLIP = "clip"
CONF_BLUR = "blur_outside_motion"
CONF_NOT_A_PERSON = "not_a_person"


def destination_from_data(entry_id: str, data: Mapping[str, Any]) -> Destination:
    """The one parser of a destination's settings (entry data, or a flow's input)."""
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


def entry_destination(entry: ConfigEntry[Any]) -> Destination:
    """What a share-destination entry declares now.

    A loaded entry holds the destination parsed at set-up (its `runtime_data`). Data
    changed since (an update whose reload has not run yet) is parsed afresh: a changed
    declaration or target must void consent at once, never after the reload.
    """
    held = getattr(entry, "runtime_data", None)
    if isinstance(held, DestinationData) and held.data is entry.data:
        return held.destination
    return destination_from_data(entry.entry_id, entry.data)


def published_folders(hass: HomeAssistant) -> list[Path]:
    """Folders others can read: `www` (served without login at /local/) and every
    media folder (browsable by every user in the Media panel)."""
    return [Path(hass.config.path("www")), *(Path(p) for p in hass.config.media_dirs.values())]


async def folder_problem_for(hass: HomeAssistant, path: str) -> str | None:
    """Translation key of why clips may not be written there, or None."""
    allowed = [Path(p) for p in hass.config.allowlist_external_dirs]
    return await hass.async_add_executor_job(
        folder_problem, Path(path), published_folders(hass), allowed
    )


def request_user_id() -> str | None:
    """The user of the HTTP request this flow step runs in (flows carry no user)."""
    request = current_request.get()
    if request is None or KEY_HASS_USER not in request:
        return None
    user = request[KEY_HASS_USER]
    return str(user.id)


class DestinationOptionsFlow(OptionsFlow):
    """Configure on a share destination: reports sent there (withdraw), or share a clip."""

    def __init__(self) -> None:
        self._report_id = ""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        return await self.async_step_destination()

    async def async_step_destination(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        # Its own step ID: "init" is the camera options' form in the translations.
        return self.async_show_menu(step_id="destination", menu_options=["reports", "share_clip"])

    async def async_step_reports(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        from .sharing import async_get_sharing  # sharing imports this module

        sharing = await async_get_sharing(self.hass)
        reports = [r for r in reversed(sharing.reports.all()) if r.destination_id == self._entry_id]
        if user_input is not None:
            self._report_id = user_input[CONF_REPORT]
            return await self.async_step_report()
        if not reports:
            return self.async_abort(reason="no_reports")
        options = [
            SelectOptionDict(value=r.id, label=f"{_local(self.hass, r.created)} · {r.status}")
            for r in reports
        ]
        return self.async_show_form(
            step_id="reports",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_REPORT): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    async def async_step_report(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        from .sharing import async_get_sharing

        sharing = await async_get_sharing(self.hass)
        report = sharing.reports.get(self._report_id)
        if report is None or report.destination_id != self._entry_id:
            return self.async_abort(reason="report_not_found")
        if not report.sent_to and report.status not in (ReportStatus.PREPARED, ReportStatus.FAILED):
            return self.async_abort(
                reason="never_sent",
                description_placeholders={"report_id": report.id, "status": report.status.value},
            )
        deliveries = [e["send"] for e in report.events if "send" in e]
        placeholders = {
            "report_id": report.id,
            "status": report.status.value,
            "created": _local(self.hass, report.created),
            "deliveries": ", ".join(str(d["detail"]) for d in deliveries) or "-",
            "consent_text": report.consent_text,
        }
        return self.async_show_menu(
            step_id="report", menu_options=["withdraw"], description_placeholders=placeholders
        )

    async def async_step_withdraw(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        from .sharing import async_get_sharing

        sharing = await async_get_sharing(self.hass)
        result = await sharing.async_withdraw(self._report_id, request_user_id())
        requests = result["deletion_requests"]
        asked = ", ".join(str(r["detail"]) for r in requests) or "none (nothing had been sent)"
        return self.async_abort(
            reason="withdrawn",
            description_placeholders={"report_id": self._report_id, "asked": asked},
        )

    async def async_step_share_clip(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        from .services import async_report_false_alarm
        from .storage import async_get_store

        shared = await async_get_store(self.hass)
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            try:
                await async_report_false_alarm(
                    self.hass,
                    user_input[CONF_CLIP],
                    self._entry_id,
                    user_input[CONF_BLUR],
                    not_a_person=user_input.get(CONF_NOT_A_PERSON, False),
                )
            except HomeAssistantError as err:
                errors["base"] = "share_not_prepared"
                placeholders["error"] = str(err)
            else:
                return self.async_abort(reason="share_prepared")
        clips = shared.store.clips()[:RECENT_CLIPS]
        if not clips:
            return self.async_abort(reason="no_clips")
        options = [
            SelectOptionDict(
                value=clip.id,
                label=f"{_camera_title(self.hass, shared.cameras.get(clip.camera), clip.camera)}"
                f" · {_local(self.hass, clip.start)} · {round(clip.duration)} s · {clip.reason}"
                + (f" · {LABEL_TITLES.get(clip.label, clip.label)}" if clip.label else ""),
            )
            for clip in clips
        ]
        return self.async_show_form(
            step_id="share_clip",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_CLIP): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
                    ),
                    vol.Required(CONF_BLUR, default=True): BooleanSelector(),
                    # Only read for a clip the detector labelled person (see the service).
                    vol.Required(CONF_NOT_A_PERSON, default=False): BooleanSelector(),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    @property
    def _entry_id(self) -> str:
        return self.config_entry.entry_id


def _camera_title(hass: HomeAssistant, entry_id: str | None, fallback: str) -> str:
    entry = hass.config_entries.async_get_entry(entry_id) if entry_id else None
    return entry.title if entry else fallback


def _local(hass: HomeAssistant, timestamp: float) -> str:
    return dt_util.as_local(dt_util.utc_from_timestamp(timestamp)).strftime("%Y-%m-%d %H:%M:%S")
