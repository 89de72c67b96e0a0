"""Sharing a false alarm: prepare, consent, send, withdraw, expire; all audited.

Nothing here runs until the owner first asks for a share (a fresh install
creates no files and opens no connection). Every rule from the product brief
that can be checked by code is checked on the consent call itself, so no other
path can send a package.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.script import script_stack_cv
from homeassistant.util.hass_dict import HassKey

from .const import (
    AUDIT_FOLDER,
    CONF_KIND,
    CONF_MASKS,
    CONF_SENSITIVE,
    CONF_SHARING_UNLOCKED,
    DOMAIN,
    KIND_DESTINATION,
    REPORT_EXPIRY,
)
from .engine.motion.zones import parse_polygons
from .engine.recording.clipstore import Clip
from .engine.sharing import senders
from .engine.sharing.audit import AuditLog, ChainStatus
from .engine.sharing.destinations import (
    CONSENT_TEXT_VERSION,
    Consent,
    Destination,
    coarse_time,
    consent_text,
    pseudonym,
    sha256_file,
)
from .engine.sharing.faces import FaceFinder, load_face_finder
from .engine.sharing.package import Package, PackageError, Redaction, build_package
from .engine.sharing.reports import Report, ReportStatus, ReportStore, new_report_id
from .share_destination import destination_from_data
from .storage import DATA_STORE, SharedStore

_LOGGER = logging.getLogger(__name__)

AUDIT_ISSUE = "audit_log_tampered"
REPORT_FORMAT = "privacy_cam.report.v1"
REPORT_URL = "/api/privacy_cam/report/{report_id}.mp4"


def report_url(report_id: str) -> str:
    return REPORT_URL.format(report_id=report_id)


def report_media_id(report_id: str) -> str:
    return f"media-source://{DOMAIN}/report/{report_id}"


def _refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _one_at_a_time[**P, R](
    method: Callable[Concatenate[Sharing, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Sharing, P], Coroutine[Any, Any, R]]:
    """One decision at a time: a double-clicked consent must not send twice, and a
    withdrawal or expiry must not interleave with a send in flight."""

    @functools.wraps(method)
    async def serialised(self: Sharing, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._lock:
            return await method(self, *args, **kwargs)

    return serialised


@dataclass(slots=True)
class Sharing:
    hass: HomeAssistant
    audit: AuditLog
    reports: ReportStore
    secret: bytes
    _timers: dict[str, CALLBACK_TYPE] = field(default_factory=dict)
    _face_finder: tuple[FaceFinder | None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # Destinations and cameras ----------------------------------------------------

    def destination(self, entry_id: str) -> Destination:
        return usable_destination(self.hass, entry_id)

    def _camera_entry(self, shared: SharedStore, camera: str) -> ConfigEntry:
        entry_id = shared.cameras.get(camera)
        entry = self.hass.config_entries.async_get_entry(entry_id) if entry_id else None
        if entry is None:
            # Without the camera's settings we can neither redact nor check sensitivity.
            raise _refuse("camera_not_found_for_share", camera=camera)
        if entry.options.get(CONF_SENSITIVE) and not entry.options.get(CONF_SHARING_UNLOCKED):
            raise _refuse("camera_sensitive", name=entry.title)
        return entry

    # Prepare -----------------------------------------------------------------------

    async def async_prepare(
        self, shared: SharedStore, clip: Clip, destination_id: str, blur_outside: bool
    ) -> dict[str, Any]:
        """Build the package locally and describe it; nothing is sent."""
        destination = self.destination(destination_id)
        try:
            camera_entry = self._camera_entry(shared, clip.camera)
        except ServiceValidationError as err:
            await self._async_log("prepare_refused", clip_id=clip.id, reason=err.translation_key)
            raise
        # Stored by the options flow only after they parsed.
        masks = parse_polygons(camera_entry.options.get(CONF_MASKS, ""))
        box = None
        if clip.box and len(clip.box) == 4:
            box = (clip.box[0], clip.box[1], clip.box[2], clip.box[3])
        redaction = Redaction(masks=masks, box=box, blur_outside=blur_outside)
        report_id = new_report_id()
        source = shared.store.root / clip.path
        window = (clip.motion[0], clip.motion[1]) if clip.motion else None
        try:
            package = await self.hass.async_add_executor_job(
                self._build, source, report_id, window, redaction
            )
        except (PackageError, OSError) as err:
            await self._async_log("failure", step="prepare", clip_id=clip.id, detail=str(err))
            raise _refuse("package_failed", clip_id=clip.id) from err
        details = {
            "camera": pseudonym(self.secret, destination.id, clip.camera),
            "time": coarse_time(clip.start + (clip.motion[0] if clip.motion else 0.0)),
            "duration": package.duration,
            "width": package.width,
            "height": package.height,
            "redaction": package.summary(),
        }
        consent = _consent(report_id, package.sha256, details, destination)
        now = time.time()
        report = Report(
            id=report_id,
            clip_id=clip.id,
            camera=clip.camera,
            destination_id=destination.id,
            created=now,
            expires=now + REPORT_EXPIRY,
            payload_sha256=package.sha256,
            consent_text=consent.text,
            consent_sha256=consent.sha256,
            details=details,
        )
        await self.hass.async_add_executor_job(self._save_prepared, report, destination)
        await self.hass.async_add_executor_job(
            lambda: shared.store.update(clip.id, false_alarm=True, protected=True)
        )
        await self._async_log(
            "prepare",
            report_id=report_id,
            clip_id=clip.id,
            destination=destination.id,
            recipient=destination.recipient,
            purpose=destination.purpose,
            payload_sha256=package.sha256,
            consent_text_version=CONSENT_TEXT_VERSION,
            consent_text_sha256=consent.sha256,
            expires=report.expires,
        )
        self._schedule_expiry(report)
        return {
            "report_id": report_id,
            "payload_sha256": package.sha256,
            "preview": {
                "media_content_id": report_media_id(report_id),
                "url": report_url(report_id),
                "size": package.size,
                **details,
            },
            "disclosure": destination.disclosure(),
            "consent_text": consent.text,
            "consent_text_sha256": consent.sha256,
            "expires": _iso(report.expires),
        }

    def _build(
        self, source: Path, report_id: str, window: tuple[float, float] | None, redaction: Redaction
    ) -> Package:
        if self._face_finder is None:
            self._face_finder = (load_face_finder(),)
        folder = self.reports.folder(report_id)
        folder.mkdir(parents=True, exist_ok=True)
        return build_package(
            source, self.reports.clip_path(report_id), window, redaction, self._face_finder[0]
        )

    def _save_prepared(self, report: Report, destination: Destination) -> None:
        self.reports.save(report)
        self.reports.report_path(report.id).write_bytes(_report_json(report, destination))

    # Consent and send ------------------------------------------------------------------

    @_one_at_a_time
    async def async_consent(
        self,
        context: Context,
        report_id: str,
        payload_sha256: str,
        consent_sha256: str,
        agree: bool,
    ) -> dict[str, Any]:
        report = self._report(report_id)
        try:
            user_id = await self._async_consenting_user(context)
            if agree is not True:
                raise _refuse("consent_not_given")
            destination = self._check_report(report)
            # Rebuilt from the destination as it is now: a changed declaration voids it.
            current = _consent(report.id, report.payload_sha256, report.details, destination)
            if consent_sha256 != current.sha256 or current.sha256 != report.consent_sha256:
                raise _refuse("consent_text_mismatch")
            clip, report_json = await self.hass.async_add_executor_job(
                self._read_package, report, destination
            )
            if payload_sha256 != report.payload_sha256 or clip is None:
                raise _refuse("payload_mismatch")
        except ServiceValidationError as err:
            await self._async_log(
                "consent_refused",
                report_id=report.id,
                reason=err.translation_key,
                user_id=context.user_id,
            )
            raise
        await self._async_log(
            "consent",
            report_id=report.id,
            user_id=user_id,
            consent_text_version=CONSENT_TEXT_VERSION,
            consent_text_sha256=current.sha256,
            payload_sha256=report.payload_sha256,
            destination=destination.id,
            recipient=destination.recipient,
            purpose=destination.purpose,
        )
        outcome = await self.hass.async_add_executor_job(
            senders.send, destination, report.id, report_json, clip
        )
        report.events.append({"send": outcome.as_dict(), "time": time.time()})
        if outcome.ok:
            report.status = ReportStatus.SHARED
            self._cancel_expiry(report.id)
            await self._async_log("send", report_id=report.id, **outcome.as_dict())
        else:
            report.status = ReportStatus.FAILED
            await self._async_log("failure", step="send", report_id=report.id, **outcome.as_dict())
        await self.hass.async_add_executor_job(self.reports.save, report)
        if not outcome.ok:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="share_failed",
                translation_placeholders={"detail": outcome.detail},
            )
        return {
            "report_id": report.id,
            "status": report.status.value,
            "delivery": outcome.as_dict(),
        }

    async def _async_consenting_user(self, context: Context) -> str:
        """Rule 2: one person, now. Automations and scripts run inside a script run
        (or a context derived from a trigger); scheduled calls have no user at all."""
        if script_stack_cv.get() or context.parent_id is not None or context.user_id is None:
            raise _refuse("consent_needs_person")
        user = await self.hass.auth.async_get_user(context.user_id)
        if user is None or not user.is_active or user.system_generated or not user.is_admin:
            raise _refuse("consent_needs_admin")
        return user.id

    def _check_report(self, report: Report) -> Destination:
        if report.status not in (ReportStatus.PREPARED, ReportStatus.FAILED):
            raise _refuse("report_not_pending", report_id=report.id, status=report.status.value)
        if time.time() >= report.expires:
            raise _refuse("report_expired", report_id=report.id)
        destination = self.destination(report.destination_id)
        shared = self.hass.data.get(DATA_STORE)
        if shared is not None:
            self._camera_entry(shared, report.camera)
        return destination

    def _read_package(self, report: Report, destination: Destination) -> tuple[bytes | None, bytes]:
        """The package as it is on disk now: None if it no longer hashes as consented."""
        path = self.reports.clip_path(report.id)
        try:
            if sha256_file(path) != report.payload_sha256:
                return None, b""
            clip = path.read_bytes()
        except FileNotFoundError:
            return None, b""
        # Sent as generated from the report, not read back from disk.
        return clip, _report_json(report, destination)

    # Withdraw and expire -----------------------------------------------------------------

    @_one_at_a_time
    async def async_withdraw(self, context: Context, report_id: str) -> dict[str, Any]:
        report = self._report(report_id)
        previous = report.status
        request: senders.Outcome | None = None
        if previous is ReportStatus.SHARED or (
            previous is ReportStatus.WITHDRAWN and _last_deletion_failed(report)
        ):
            try:
                destination = self.destination(report.destination_id)
            except ServiceValidationError:
                request = senders.Outcome(False, None, "destination removed")
            else:
                request = await self.hass.async_add_executor_job(
                    senders.withdraw, destination, report.id
                )
        deleted = await self.hass.async_add_executor_job(self.reports.delete_package, report.id)
        report.status = ReportStatus.WITHDRAWN
        if request is not None:
            report.events.append({"deletion_request": request.as_dict(), "time": time.time()})
        await self.hass.async_add_executor_job(self.reports.save, report)
        self._cancel_expiry(report.id)
        await self._async_release_clip(report)
        await self._async_log(
            "withdraw", report_id=report.id, user_id=context.user_id, previous=previous.value
        )
        if deleted:
            await self._async_log("delete", report_id=report.id, what="local package")
        if request is not None:
            action = "deletion_request" if request.ok else "failure"
            await self._async_log(action, report_id=report.id, step="withdraw", **request.as_dict())
        return {
            "report_id": report.id,
            "status": report.status.value,
            "local_copy_deleted": deleted or not self.reports.has_package(report.id),
            "deletion_request": None if request is None else request.as_dict(),
        }

    @_one_at_a_time
    async def _async_expire(self, report_id: str) -> None:
        report = self.reports.get(report_id)
        self._timers.pop(report_id, None)
        if report is None or report.status not in (ReportStatus.PREPARED, ReportStatus.FAILED):
            return
        await self.hass.async_add_executor_job(self.reports.delete_package, report.id)
        report.status = ReportStatus.EXPIRED
        await self.hass.async_add_executor_job(self.reports.save, report)
        await self._async_release_clip(report)
        await self._async_log("expire", report_id=report.id)
        await self._async_log("delete", report_id=report.id, what="local package")

    async def _async_release_clip(self, report: Report) -> None:
        """The clip goes back under retention once no open report needs it."""
        if any(r.open and r.clip_id == report.clip_id for r in self.reports.all()):
            return
        shared = self.hass.data.get(DATA_STORE)
        if shared is not None and shared.store.get(report.clip_id) is not None:
            await self.hass.async_add_executor_job(
                lambda: shared.store.update(report.clip_id, protected=False)
            )

    @callback
    def _schedule_expiry(self, report: Report) -> None:
        delay = max(0.0, report.expires - time.time())

        async def _async_fire(_now: Any) -> None:
            await self._async_expire(report.id)

        self._timers[report.id] = async_call_later(self.hass, delay, _async_fire)

    @callback
    def _cancel_expiry(self, report_id: str) -> None:
        if (cancel := self._timers.pop(report_id, None)) is not None:
            cancel()

    @callback
    def async_shutdown(self) -> None:
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    # Audit -------------------------------------------------------------------------------

    async def _async_log(self, action: str, **details: Any) -> None:
        await self.hass.async_add_executor_job(lambda: self.audit.append(action, **details))

    async def async_read_audit(self) -> tuple[list[dict[str, Any]], ChainStatus]:
        entries, status = await self.hass.async_add_executor_job(self.audit.read)
        self.async_update_audit_issue(status)
        return entries, status

    @callback
    def async_update_audit_issue(self, status: ChainStatus) -> None:
        if status.valid:
            ir.async_delete_issue(self.hass, DOMAIN, AUDIT_ISSUE)
            return
        _LOGGER.error(
            "The sharing audit log was changed: %s (line %s)", status.problem, status.line
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            AUDIT_ISSUE,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=AUDIT_ISSUE,
            translation_placeholders={
                "path": str(self.audit.path),
                "line": str(status.line),
                "problem": status.problem or "",
            },
        )

    def _report(self, report_id: str) -> Report:
        if (report := self.reports.get(report_id)) is None:
            raise _refuse("report_not_found", report_id=report_id)
        return report


def usable_destination(hass: HomeAssistant, entry_id: str) -> Destination:
    """A loaded share destination that declares everything (rule 4), or a refusal."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if (
        entry is None
        or entry.domain != DOMAIN
        or entry.data.get(CONF_KIND) != KIND_DESTINATION
        or entry.state is not ConfigEntryState.LOADED
    ):
        raise _refuse("share_destination_not_found", destination=entry_id)
    # Loaded means it validated at setup (an incomplete one fails to load).
    return destination_from_data(entry.entry_id, entry.data)


def _last_deletion_failed(report: Report) -> bool:
    requests = [e["deletion_request"] for e in report.events if "deletion_request" in e]
    return bool(requests) and not requests[-1].get("ok")


def _consent(
    report_id: str, payload_sha256: str, details: dict[str, Any], destination: Destination
) -> Consent:
    return consent_text(
        report_id,
        payload_sha256,
        str(details.get("camera", "")),
        str(details.get("time", "")),
        float(details.get("duration", 0.0)),
        str(details.get("redaction", "")),
        destination,
    )


def _report_json(report: Report, destination: Destination) -> bytes:
    """What the recipient gets besides the clip: no local names, no exact times."""
    details = report.details
    body = {
        "format": REPORT_FORMAT,
        "report_id": report.id,
        "payload_sha256": report.payload_sha256,
        "camera": details.get("camera"),
        "time": details.get("time"),
        "duration": details.get("duration"),
        "redaction": details.get("redaction"),
        "disclosure": destination.disclosure(),
        "consent_text_version": CONSENT_TEXT_VERSION,
        "consent_text_sha256": report.consent_sha256,
        "withdrawal": f"DELETE <this URL>/{report.id}",
    }
    return json.dumps(body, sort_keys=True, indent=2).encode()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


DATA_SHARING: HassKey[Sharing] = HassKey(f"{DOMAIN}_sharing")


async def async_get_sharing(hass: HomeAssistant) -> Sharing:
    """Created on first use only: a fresh install has no audit log and no reports."""
    if (sharing := hass.data.get(DATA_SHARING)) is not None:
        return sharing
    root = Path(hass.config.path(AUDIT_FOLDER))
    audit = AuditLog(root / "audit.log")
    reports = ReportStore(root / "reports")

    def _load() -> tuple[bytes, ChainStatus]:
        reports.load()
        return reports.secret(), audit.verify()

    secret, status = await hass.async_add_executor_job(_load)
    if (sharing := hass.data.get(DATA_SHARING)) is not None:
        return sharing
    sharing = hass.data.setdefault(DATA_SHARING, Sharing(hass, audit, reports, secret))
    sharing.async_update_audit_issue(status)

    @callback
    def _async_stop(_event: Event) -> None:
        sharing.async_shutdown()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop)
    for report in reports.all():
        if report.status in (ReportStatus.PREPARED, ReportStatus.FAILED):
            sharing._schedule_expiry(report)
    return sharing


def existing_sharing(hass: HomeAssistant) -> Sharing | None:
    return hass.data.get(DATA_SHARING)
