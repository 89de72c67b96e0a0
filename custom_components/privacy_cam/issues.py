"""What a user can act on: a camera's repair issues, one log line per outage and reauth;
the sharing audit log's repair issue.

A failing detection stream (substream) gets an issue of its own after the same delay,
but only while the main stream streams: with the whole camera down, the unreachable
issue says it all. The engine logs its outages (once each) and detects on the main
stream meanwhile, so nothing is lost but CPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .const import CONF_KIND, DOMAIN, UNREACHABLE_ISSUE_DELAY, URL_KINDS
from .engine import ErrorKind, SourceError
from .engine.sharing.audit import ChainStatus

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)
AUDIT_ISSUE = "audit_log_tampered"


class CameraIssues:
    """An outage is logged once, raised as an issue after a delay, cleared when back."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.last_error: SourceError | None = None
        self._timer: CALLBACK_TYPE | None = None
        self._logged_down = False
        self.detect_error: str | None = None  # why the detection stream is out
        self._detect_timer: CALLBACK_TYPE | None = None

    @property
    def unreachable_id(self) -> str:
        return f"camera_unreachable_{self.entry.entry_id}"

    @property
    def disk_full_id(self) -> str:
        return f"disk_full_{self.entry.entry_id}"

    @property
    def detection_stream_id(self) -> str:
        return f"detection_stream_failing_{self.entry.entry_id}"

    @callback
    def async_online(self) -> None:
        self.last_error = None
        self.async_cancel()
        ir.async_delete_issue(self.hass, DOMAIN, self.unreachable_id)
        if self.detect_error is not None:
            self._async_arm_detect()  # its timer found the whole camera down
        if self._logged_down:
            _LOGGER.info("Camera %s is back online", self.entry.title)
            self._logged_down = False

    @callback
    def async_offline(self, error: SourceError) -> None:
        self.last_error = error
        # The whole camera is down: its unreachable issue says it all (async_online
        # brings the detection stream's back if that still fails then).
        ir.async_delete_issue(self.hass, DOMAIN, self.detection_stream_id)
        if not self._logged_down:
            # Once per outage; the message is scrubbed of credentials by the engine.
            _LOGGER.warning("Camera %s is unavailable: %s", self.entry.title, error.message)
            self._logged_down = True
        if error.kind == ErrorKind.INVALID_AUTH and self.entry.data[CONF_KIND] in URL_KINDS:
            self.entry.async_start_reauth(self.hass)
        if self._timer is None:
            self._timer = async_call_later(self.hass, UNREACHABLE_ISSUE_DELAY, self._async_raise)

    @callback
    def _async_raise(self, _now: object) -> None:
        self._timer = None
        if self.last_error is None:
            return  # back online meanwhile
        self._async_warn(self.unreachable_id, "camera_unreachable", self.last_error.message)

    @callback
    def _async_warn(self, issue_id: str, translation_key: str, error: str) -> None:
        """A non-fixable warning about this camera, saying why."""
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=translation_key,
            translation_placeholders={"name": self.entry.title, "error": error},
        )

    @callback
    def async_cancel(self) -> None:
        """No unreachable issue for an outage that ends here (back online, stopped)."""
        if self._timer is not None:
            self._timer()
            self._timer = None

    @callback
    def async_detection_stream(self, failed: bool, message: str = "") -> None:
        """The detection stream failed (`message` says why; no credentials in it), or is
        back, or the camera stopped."""
        self.detect_error = message if failed else None
        if failed:
            self._async_arm_detect()
            return
        if self._detect_timer is not None:
            self._detect_timer()
            self._detect_timer = None
        ir.async_delete_issue(self.hass, DOMAIN, self.detection_stream_id)

    @callback
    def _async_arm_detect(self) -> None:
        if self._detect_timer is None:
            self._detect_timer = async_call_later(
                self.hass, UNREACHABLE_ISSUE_DELAY, self._async_raise_detect
            )

    @callback
    def _async_raise_detect(self, _now: object) -> None:
        self._detect_timer = None
        error = self.detect_error
        if error is None or self.last_error is not None:
            return  # back meanwhile, or the whole camera is down (async_online re-arms)
        self._async_warn(self.detection_stream_id, "detection_stream_failing", error)

    @callback
    def async_disk_full(self) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.disk_full_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="disk_full",
            translation_placeholders={"name": self.entry.title},
        )

    @callback
    def async_disk_ok(self) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, self.disk_full_id)

    @callback
    def async_remove(self) -> None:
        """The camera is unloaded: its issues go with it."""
        self.async_cancel()
        self.async_detection_stream(False)
        ir.async_delete_issue(self.hass, DOMAIN, self.unreachable_id)
        ir.async_delete_issue(self.hass, DOMAIN, self.disk_full_id)


@callback
def async_update_audit_issue(hass: HomeAssistant, status: ChainStatus, path: Path) -> None:
    """Raise (and log) the audit log's issue while its chain is broken, drop it once whole."""
    if status.valid:
        ir.async_delete_issue(hass, DOMAIN, AUDIT_ISSUE)
        return
    _LOGGER.error("The sharing audit log was changed: %s (line %s)", status.problem, status.line)
    ir.async_create_issue(
        hass,
        DOMAIN,
        AUDIT_ISSUE,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=AUDIT_ISSUE,
        translation_placeholders={
            "path": str(path),
            "line": str(status.line),
            "problem": status.problem or "",
        },
    )
