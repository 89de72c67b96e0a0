"""The consent dialog: the fix flow of a "ready to share" repair issue.

Repairs are admin-only in Home Assistant (the frontend shows them to admins and
the fix-flow HTTP API requires an admin), which makes this dialog the only way to
consent. It shows everything the consent text says, plus a link that plays the
exact package (a signed, expiring URL that only an admin's session can open),
and binds the choice to that text: nobody types a hash.
"""

from __future__ import annotations

import time
from datetime import timedelta

from homeassistant import data_entry_flow
from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .engine.sharing.destinations import Destination, DestinationKind
from .share_destination import request_user_id
from .sharing import async_get_sharing
from .views import report_url

PREVIEW_LINK_LIFETIME = 900.0  # seconds; never past the report's own expiry


class ConsentFlow(RepairsFlow):
    """Share this clip, or don't."""

    def __init__(self, report_id: str) -> None:
        self._report_id = report_id
        self._shown = ""  # SHA-256 of the consent text this dialog displayed

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        sharing = await async_get_sharing(self.hass)
        try:
            report, destination, consent = sharing.pending_consent(self._report_id)
        except ServiceValidationError as err:
            if err.translation_key == "consent_text_mismatch":
                await sharing.async_void(self._report_id, "consent text changed")
            return self.async_abort(reason=str(err.translation_key))
        self._shown = consent.sha256
        lifetime = min(PREVIEW_LINK_LIFETIME, max(1.0, report.expires - time.time()))
        # Signed for this admin's own session (the request's refresh token).
        preview = async_sign_path(self.hass, report_url(report.id), timedelta(seconds=lifetime))
        info = destination.disclosure()
        details = report.details
        placeholders = {
            "recipient": info["recipient"],
            "purpose": info["purpose"],
            "humans_watch": "Yes" if info["humans_watch"] else "No",
            "retention": info["retention"],
            "withdrawal": info["withdrawal"],
            "where": destination.target_label,
            "delivery": _delivery(destination),
            "redaction": str(details.get("redaction", "")),
            "duration": f"{float(details.get('duration', 0.0)):.1f}",
            "preview": preview,
            "preview_minutes": str(max(1, round(lifetime / 60))),
            "consent_text": consent.text,
            "report_id": report.id,
        }
        return self.async_show_menu(
            step_id="init", menu_options=["share", "discard"], description_placeholders=placeholders
        )

    async def async_step_share(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        sharing = await async_get_sharing(self.hass)
        try:
            await sharing.async_consent(self._report_id, request_user_id(), self._shown)
        except ServiceValidationError as err:
            return self.async_abort(reason=str(err.translation_key))
        except HomeAssistantError as err:
            # Failed to deliver: recorded; the dialog stays so it can be tried again.
            return self.async_abort(
                reason="share_failed",
                description_placeholders={
                    "detail": (err.translation_placeholders or {}).get("detail", "")
                },
            )
        return self.async_create_entry(data={})

    async def async_step_discard(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        sharing = await async_get_sharing(self.hass)
        try:
            await sharing.async_discard(self._report_id, request_user_id())
        except ServiceValidationError as err:
            return self.async_abort(reason=str(err.translation_key))
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Only the consent issues are fixable; their data names the report."""
    return ConsentFlow(str((data or {}).get("report_id", "")))


def _delivery(destination: Destination) -> str:
    """How the clip travels, as the consent dialog states it (plain HTTP only to loopback)."""
    if destination.kind is DestinationKind.FOLDER:
        return "file copy"
    return "HTTPS upload" if destination.target.startswith("https://") else "HTTP upload"
