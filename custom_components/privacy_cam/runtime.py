"""One camera at run time: owns the engine source and bridges it to the event loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .const import CONF_KIND, DOMAIN, UNREACHABLE_ISSUE_DELAY, URL_KINDS
from .engine import ErrorKind, Source, SourceError, SourceState

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)


class CameraRuntime:
    """Starts and stops the source, and turns its thread callbacks into loop state."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, source: Source) -> None:
        self.hass = hass
        self.entry = entry
        self.source = source
        self.available = False
        self.last_error: SourceError | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._issue_timer: CALLBACK_TYPE | None = None
        self._logged_down = False
        self._closed = False
        source.add_listener(self)

    @property
    def issue_id(self) -> str:
        return f"camera_unreachable_{self.entry.entry_id}"

    @property
    def is_on(self) -> bool:
        return self.source.running

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> Callable[[], None]:
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    async def async_start(self) -> None:
        self._closed = False
        await self.hass.async_add_executor_job(self.source.start)
        self._async_notify()

    async def async_stop(self) -> None:
        """Stop pulling frames (turn off, unload); the thread ends within 2 s."""
        self._closed = True
        self._async_cancel_issue_timer()
        await self.hass.async_add_executor_job(self.source.stop)
        self.available = False
        self._async_notify()

    async def async_unload(self) -> None:
        await self.async_stop()
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

    # Source thread -> loop ---------------------------------------------------------

    def on_state(self, state: SourceState, error: SourceError | None) -> None:
        """Called on the source thread."""
        if not self._closed:
            self.hass.loop.call_soon_threadsafe(self._async_on_state, state, error)

    @callback
    def _async_on_state(self, state: SourceState, error: SourceError | None) -> None:
        if self._closed:
            return
        if state == SourceState.STREAMING:
            self._async_online()
        elif state == SourceState.FAILED and error is not None:
            self._async_offline(error)

    @callback
    def _async_online(self) -> None:
        self.available = True
        self.last_error = None
        self._async_cancel_issue_timer()
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
        if self._logged_down:
            _LOGGER.info("Camera %s is back online", self.entry.title)
            self._logged_down = False
        self._async_notify()

    @callback
    def _async_offline(self, error: SourceError) -> None:
        self.available = False
        self.last_error = error
        if not self._logged_down:
            # Once per outage; the message is scrubbed of credentials by the engine.
            _LOGGER.warning("Camera %s is unavailable: %s", self.entry.title, error.message)
            self._logged_down = True
        if error.kind == ErrorKind.INVALID_AUTH and self.entry.data[CONF_KIND] in URL_KINDS:
            self.entry.async_start_reauth(self.hass)
        if self._issue_timer is None:
            self._issue_timer = async_call_later(
                self.hass, UNREACHABLE_ISSUE_DELAY, self._async_raise_issue
            )
        self._async_notify()

    @callback
    def _async_raise_issue(self, _now: object) -> None:
        self._issue_timer = None
        if self.available or self._closed:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="camera_unreachable",
            translation_placeholders={
                "name": self.entry.title,
                "error": self.last_error.message if self.last_error else "",
            },
        )

    @callback
    def _async_cancel_issue_timer(self) -> None:
        if self._issue_timer is not None:
            self._issue_timer()
            self._issue_timer = None

    @callback
    def _async_notify(self) -> None:
        for update in list(self._listeners):
            update()
