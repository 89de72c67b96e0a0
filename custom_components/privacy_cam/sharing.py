"""Sharing a false alarm: prepare, consent, send, withdraw, discard, expire; all audited.

Nothing here runs until the owner first asks for a share (a fresh install
creates no files and opens no connection). Consent is given only in the consent
dialog (a fixable repair issue, admin-only in HA; see repairs.py): every rule
from the product brief that code can check is checked on that one path.

Decisions are serialised per report (a double-clicked consent sends once; a
withdrawal never interleaves with its own send) but never across reports: a slow
recipient holds nothing but its own report, and every send has one deadline.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store

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
from .data import DATA_SHARING
from .engine.motion.zones import parse_polygons
from .engine.recording.clipstore import Clip
from .engine.sharing import senders
from .engine.sharing.audit import AuditLog, ChainStatus
from .engine.sharing.destinations import (
    CONSENT_TEXT_VERSION,
    Consent,
    Destination,
    DestinationKind,
    coarse_time,
    consent_text,
    pseudonym,
    target_fingerprint,
    target_label,
)
from .engine.sharing.faces import FaceFinder, load_face_finder
from .engine.sharing.package import Package, PackageError, Redaction, build_package
from .engine.sharing.reports import Report, ReportStatus, ReportStore, new_report_id
from .issues import async_update_audit_issue
from .media_source import report_media_id
from .share_destination import entry_destination, folder_problem_for
from .storage import DATA_STORE, SharedStore, async_get_store
from .views import report_url

_LOGGER = logging.getLogger(__name__)

CONSENT_ISSUE = "consent_request"  # translation key; one issue per pending report
REPORT_FORMAT = "privacy_cam.report.v1"
ANCHOR_KEY = f"{DOMAIN}.audit_anchor"


def consent_issue_id(report_id: str) -> str:
    return f"consent_{report_id}"


def _refuse(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _per_report[**P, R](
    method: Callable[Concatenate[Sharing, str, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Sharing, str, P], Coroutine[Any, Any, R]]:
    """One decision at a time per report: a double-clicked consent must not send twice,
    and a withdrawal or expiry must not interleave with that report's send. Other
    reports never wait."""

    @functools.wraps(method)
    async def serialised(self: Sharing, report_id: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        lock = self._locks.setdefault(report_id, asyncio.Lock())
        async with lock:
            return await method(self, report_id, *args, **kwargs)

    return serialised


@dataclass(slots=True)
class Sharing:
    hass: HomeAssistant
    audit: AuditLog
    reports: ReportStore
    secret: bytes
    anchor: Store[dict[str, Any]] | None = None
    _timers: dict[str, CALLBACK_TYPE] = field(default_factory=dict)
    _face_finder: tuple[FaceFinder | None] | None = None
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _unsubscribe: list[CALLBACK_TYPE] = field(default_factory=list)

    # Destinations and cameras ----------------------------------------------------

    def destination(self, entry_id: str) -> Destination:
        return usable_destination(self.hass, entry_id)

    def _camera_entry(self, clip: Clip) -> ConfigEntry:
        """The camera that recorded the clip (its owner, never a camera that took its
        name or folder later), or a refusal: a clip without an owner, or whose camera
        was removed, is never shared (fail closed)."""
        entry = self.hass.config_entries.async_get_entry(clip.owner) if clip.owner else None
        if entry is None or entry.domain != DOMAIN or entry.data.get(CONF_KIND) == KIND_DESTINATION:
            # Without the camera's settings we can neither redact nor check sensitivity.
            raise _refuse("camera_not_found_for_share", camera=clip.camera)
        if entry.options.get(CONF_SENSITIVE) and not entry.options.get(CONF_SHARING_UNLOCKED):
            raise _refuse("camera_sensitive", name=entry.title)
        return entry

    # Prepare -----------------------------------------------------------------------

    async def async_prepare(
        self, shared: SharedStore, clip: Clip, destination_id: str, blur_outside: bool
    ) -> dict[str, Any]:
        """Build the package locally, describe it and ask the owner (repair issue);
        nothing is sent."""
        destination = self.destination(destination_id)
        try:
            camera_entry = self._camera_entry(clip)
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
            # Stated in the consent text, not sent as such (see `_report_json`): the
            # recipient could only guess it from the text's hash, among five phrases.
            "label": clip.label or "unclassified",
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
            target_kind=destination.kind.value,
            target=destination.target,
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
            target=destination.target_label,
            target_fingerprint=target_fingerprint(destination.target),
            payload_sha256=package.sha256,
            consent_text_version=CONSENT_TEXT_VERSION,
            consent_text_sha256=consent.sha256,
            expires=report.expires,
        )
        self._schedule_expiry(report)
        self._raise_consent_issue(report, destination)
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
            "consent": "Settings > Repairs",
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

    @callback
    def _raise_consent_issue(self, report: Report, destination: Destination) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            consent_issue_id(report.id),
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=CONSENT_ISSUE,
            translation_placeholders={"recipient": destination.recipient, "report_id": report.id},
            data={"report_id": report.id},
        )

    @callback
    def _clear_consent_issue(self, report_id: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, consent_issue_id(report_id))

    # The consent dialog --------------------------------------------------------------

    def pending_consent(self, report_id: str) -> tuple[Report, Destination, Consent]:
        """What the dialog shows: the report, its destination and the consent text as
        it reads now. Refused if it can no longer be consented to."""
        report = self._report(report_id)
        destination = self._check_report(report)
        return report, destination, self._current_consent(report, destination)

    def _current_consent(self, report: Report, destination: Destination) -> Consent:
        # Rebuilt from the destination as it is now: a changed declaration voids it.
        current = _consent(report.id, report.payload_sha256, report.details, destination)
        if current.sha256 != report.consent_sha256 or destination.target != report.target:
            raise _refuse("consent_text_mismatch")
        return current

    @_per_report
    async def async_consent(
        self, report_id: str, user_id: str | None, shown_consent_sha256: str
    ) -> dict[str, Any]:
        """The owner chose "share" in the dialog that displayed this consent text."""
        report = self._report(report_id)
        try:
            await self._async_check_admin(user_id)
            # Loaded if it was not yet (a restart before any camera set up): the
            # private-camera check never goes unchecked.
            shared = await async_get_store(self.hass)
            destination = self._check_report(report, shared)
            current = self._current_consent(report, destination)
            if shown_consent_sha256 != current.sha256:
                raise _refuse("consent_text_mismatch")
            problem = await self._async_target_problem(destination)
            if problem is not None:
                raise _refuse(problem)
            clip, report_json = await self.hass.async_add_executor_job(
                self._read_package, report, destination
            )
            if clip is None:
                raise _refuse("payload_mismatch")
        except ServiceValidationError as err:
            await self._async_log(
                "consent_refused", report_id=report.id, reason=err.translation_key, user_id=user_id
            )
            raise
        label = destination.target_label
        await self._async_log(
            "consent",
            report_id=report.id,
            user_id=user_id,
            consent_text_version=_consent_version(report.details),
            consent_text_sha256=current.sha256,
            payload_sha256=report.payload_sha256,
            destination=destination.id,
            recipient=destination.recipient,
            purpose=destination.purpose,
            target=label,
            target_fingerprint=target_fingerprint(destination.target),
        )
        # Remembered before the first byte leaves: if the send dies halfway, the
        # recipient may still have the clip, and withdrawal must reach it.
        attempt = {"kind": destination.kind.value, "target": destination.target}
        if attempt not in report.sent_to:
            report.sent_to.append(attempt)
        await self.hass.async_add_executor_job(self.reports.save, report)
        outcome = await self.hass.async_add_executor_job(
            senders.send, destination.kind, destination.target, report.id, report_json, clip
        )
        report.events.append({"send": outcome.as_dict(), "time": time.time()})
        if outcome.ok:
            report.status = ReportStatus.SHARED
            self._cancel_expiry(report.id)
            self._clear_consent_issue(report.id)
            await self._async_log("send", report_id=report.id, target=label, **outcome.as_dict())
        else:
            report.status = ReportStatus.FAILED
            await self._async_log(
                "failure", step="send", report_id=report.id, target=label, **outcome.as_dict()
            )
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

    async def _async_check_admin(self, user_id: str | None) -> str:
        """Rule 2: one person, an admin, now (the dialog runs in their request)."""
        if user_id is None:
            raise _refuse("consent_needs_person")
        user = await self.hass.auth.async_get_user(user_id)
        if user is None or not user.is_active or user.system_generated or not user.is_admin:
            raise _refuse("consent_needs_admin")
        return user.id

    async def _async_target_problem(self, destination: Destination) -> str | None:
        """A folder is checked again right before writing: a symlink made since it was
        saved must not lead into a published folder."""
        if destination.kind is not DestinationKind.FOLDER:
            return None
        return await folder_problem_for(self.hass, destination.target)

    def _check_report(self, report: Report, shared: SharedStore | None = None) -> Destination:
        """Refused unless it can still be consented to. The camera is checked against the
        clip store (`shared`, or the loaded one); consent always passes it loaded."""
        if not report.pending:
            raise _refuse("report_not_pending", report_id=report.id, status=report.status.value)
        if time.time() >= report.expires:
            raise _refuse("report_expired", report_id=report.id)
        destination = self.destination(report.destination_id)
        if shared is None:
            shared = self.hass.data.get(DATA_STORE)
        if shared is not None:
            clip = shared.store.get(report.clip_id)
            if clip is None:
                # The clip is gone: whose camera it was, and its settings, are unknown.
                raise _refuse("camera_not_found_for_share", camera=report.camera)
            self._camera_entry(clip)
        return destination

    def _read_package(self, report: Report, destination: Destination) -> tuple[bytes | None, bytes]:
        """The package read ONCE: these bytes are hashed and, if they match what was
        previewed, these same bytes are sent. None if they do not match."""
        try:
            clip = self.reports.clip_path(report.id).read_bytes()
        except FileNotFoundError:
            return None, b""
        if hashlib.sha256(clip).hexdigest() != report.payload_sha256:
            return None, b""
        # Sent as generated from the report, not read back from disk.
        return clip, _report_json(report, destination)

    # Withdraw, discard, void and expire ----------------------------------------------------

    @_per_report
    async def async_withdraw(self, report_id: str, user_id: str | None) -> dict[str, Any]:
        """Delete the local copy and ask every place the clip may have reached (as
        recorded when it was sent, whatever the destination says now) to delete it."""
        report = self._report(report_id)
        previous = report.status
        if previous in (ReportStatus.PREPARED, ReportStatus.FAILED) and not report.sent_to:
            return await self._async_close(report, ReportStatus.WITHDRAWN, "withdraw", user_id)
        if not report.sent_to:
            # Discarded, expired or voided before anything left: that decision stands.
            raise _refuse("report_never_sent", report_id=report.id, status=previous.value)
        requests = await self._async_ask_deletion(report)
        deleted = await self.hass.async_add_executor_job(self.reports.delete_package, report.id)
        report.status = ReportStatus.WITHDRAWN
        await self.hass.async_add_executor_job(self.reports.save, report)
        self._cancel_expiry(report.id)
        self._clear_consent_issue(report.id)
        await self._async_release_clip(report)
        await self._async_log(
            "withdraw", report_id=report.id, user_id=user_id, previous=previous.value
        )
        if deleted:
            await self._async_log("delete", report_id=report.id, what="local package")
        for target, request in requests:
            action = "deletion_request" if request.ok else "failure"
            await self._async_log(
                action, report_id=report.id, step="withdraw", target=target, **request.as_dict()
            )
        outcomes = [request.as_dict() for _, request in requests]
        failed = [o for o in outcomes if not o["ok"]]
        return {
            "report_id": report.id,
            "status": report.status.value,
            "local_copy_deleted": deleted or not self.reports.has_package(report.id),
            "deletion_request": _first(failed or outcomes),
            "deletion_requests": outcomes,
        }

    async def _async_ask_deletion(self, report: Report) -> list[tuple[str, senders.Outcome]]:
        """Each recorded target whose deletion is not confirmed yet is asked (again)."""
        confirmed = {
            e.get("target_fingerprint")
            for e in report.events
            if e.get("deletion_request", {}).get("ok")
        }
        results: list[tuple[str, senders.Outcome]] = []
        for attempt in report.sent_to:
            fingerprint = target_fingerprint(attempt["target"])
            if fingerprint in confirmed:
                continue
            kind = DestinationKind(attempt["kind"])
            outcome = await self.hass.async_add_executor_job(
                senders.withdraw, kind, attempt["target"], report.id
            )
            report.events.append(
                {
                    "deletion_request": outcome.as_dict(),
                    "target_fingerprint": fingerprint,
                    "time": time.time(),
                }
            )
            results.append((target_label(kind, attempt["target"]), outcome))
        return results

    @_per_report
    async def async_discard(self, report_id: str, user_id: str | None) -> dict[str, Any]:
        """The owner said "don't share": the package is deleted and the clip released."""
        report = self._report(report_id)
        if not report.pending:
            raise _refuse("report_not_pending", report_id=report.id, status=report.status.value)
        return await self._async_close(report, ReportStatus.DISCARDED, "discard", user_id)

    async def _async_close(
        self, report: Report, status: ReportStatus, action: str, user_id: str | None, **log: Any
    ) -> dict[str, Any]:
        """End a report that was never delivered anywhere."""
        previous = report.status
        requests = await self._async_ask_deletion(report) if report.sent_to else []
        deleted = await self.hass.async_add_executor_job(self.reports.delete_package, report.id)
        report.status = status
        await self.hass.async_add_executor_job(self.reports.save, report)
        self._cancel_expiry(report.id)
        self._clear_consent_issue(report.id)
        await self._async_release_clip(report)
        await self._async_log(
            action, report_id=report.id, user_id=user_id, previous=previous.value, **log
        )
        if deleted:
            await self._async_log("delete", report_id=report.id, what="local package")
        for target, request in requests:
            name = "deletion_request" if request.ok else "failure"
            await self._async_log(
                name, report_id=report.id, step=action, target=target, **request.as_dict()
            )
        outcomes = [request.as_dict() for _, request in requests]
        return {
            "report_id": report.id,
            "status": report.status.value,
            "local_copy_deleted": True,
            "deletion_request": _first(outcomes),
            "deletion_requests": outcomes,
        }

    @_per_report
    async def async_void(self, report_id: str, reason: str) -> None:
        """The destination changed (or went) before consent: what the owner would
        consent to no longer describes where the clip goes."""
        report = self.reports.get(report_id)
        if report is None or not report.pending:
            return
        await self._async_close(report, ReportStatus.VOIDED, "void", None, reason=reason)

    @_per_report
    async def _async_expire(self, report_id: str) -> None:
        report = self.reports.get(report_id)
        self._timers.pop(report_id, None)
        if report is None or not report.pending:
            return
        await self._async_close(report, ReportStatus.EXPIRED, "expire", None)

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
    def async_resume(self) -> None:
        """At start-up: timers and consent dialogs of pending reports come back; those
        that expired while Home Assistant was down expire now (package deleted)."""
        for report in self.reports.all():
            if not report.pending:
                continue
            self._schedule_expiry(report)
            if report.expires > time.time():
                try:
                    destination = self.destination(report.destination_id)
                except ServiceValidationError:
                    # Not loaded (yet): the destination's own set-up raises it then.
                    continue
                self._raise_consent_issue(report, destination)

    @callback
    def async_destination_changed(self, entry: ConfigEntry) -> None:
        """A destination reloaded: raise dialogs waiting for it, void those whose
        target (URL or folder) changed; a removed destination voids its reports."""
        for report in self.reports.all():
            if not report.pending or report.destination_id != entry.entry_id:
                continue
            if entry.state is ConfigEntryState.LOADED:
                destination = entry_destination(entry)
                if destination.target == report.target:
                    if report.expires > time.time():
                        self._raise_consent_issue(report, destination)
                    continue
                reason = "destination target changed"
            elif self.hass.config_entries.async_get_entry(entry.entry_id) is not None:
                continue
            else:
                reason = "destination removed"
            self.hass.async_create_task(self.async_void(report.id, reason), eager_start=True)

    @callback
    def async_shutdown(self) -> None:
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # Audit -------------------------------------------------------------------------------

    async def _async_log(self, action: str, **details: Any) -> None:
        def _append() -> tuple[dict[str, Any], ChainStatus]:
            entry = self.audit.append(action, **details)
            return entry, self.audit.verify()

        entry, status = await self.hass.async_add_executor_job(_append)
        # The anchor moves on only while the log still holds what it remembered: after
        # tampering it stays put, so the next ordinary entry cannot hide the change.
        status = await self._async_check_anchor(status)
        if status.valid:
            await self._async_save_anchor(entry["seq"], entry["hash"])
        else:
            async_update_audit_issue(self.hass, status, self.audit.path)

    async def _async_save_anchor(self, seq: int, digest: str) -> None:
        # Outside the log's folder: deleting both log files is noticed at next start.
        if self.anchor is not None:
            await self.anchor.async_save({"seq": seq, "hash": digest})

    async def async_read_audit(self) -> tuple[list[dict[str, Any]], ChainStatus]:
        entries, status = await self.hass.async_add_executor_job(self.audit.read)
        status = await self._async_check_anchor(status)
        async_update_audit_issue(self.hass, status, self.audit.path)
        return entries, status

    async def _async_check_anchor(self, status: ChainStatus) -> ChainStatus:
        if self.anchor is None or (saved := await self.anchor.async_load()) is None:
            return status
        seq, digest = int(saved.get("seq", 0)), str(saved.get("hash", ""))
        return await self.hass.async_add_executor_job(self.audit.check_anchor, seq, digest, status)

    @callback
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
    return entry_destination(entry)


def _first(outcomes: list[dict[str, object]]) -> dict[str, object] | None:
    return outcomes[0] if outcomes else None


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
        label=None if details.get("label") is None else str(details["label"]),
    )


def _consent_version(details: dict[str, Any]) -> int:
    """Version 3 states the label; a report prepared before it keeps version 2's text."""
    return 2 if details.get("label") is None else CONSENT_TEXT_VERSION


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
        "consent_text_version": _consent_version(details),
        "consent_text_sha256": report.consent_sha256,
        "withdrawal": f"DELETE <this URL>/{report.id}",
    }
    return json.dumps(body, sort_keys=True, indent=2).encode()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


async def async_get_sharing(hass: HomeAssistant) -> Sharing:
    """Created on first use only: a fresh install has no audit log and no reports."""
    if (sharing := hass.data.get(DATA_SHARING)) is not None:
        return sharing
    root = Path(hass.config.path(AUDIT_FOLDER))
    audit = AuditLog(root / "audit.log")
    reports = ReportStore(root / "reports")
    anchor: Store[dict[str, Any]] = Store(hass, 1, ANCHOR_KEY)

    def _load() -> tuple[bytes, dict[str, Any] | None]:
        reports.load()
        return reports.secret(), audit.repair()

    secret, repaired = await hass.async_add_executor_job(_load)
    if (sharing := hass.data.get(DATA_SHARING)) is not None:
        return sharing
    sharing = hass.data.setdefault(DATA_SHARING, Sharing(hass, audit, reports, secret, anchor))
    if repaired is not None:
        _LOGGER.warning("The sharing audit log was repaired after a crash: %s", repaired["details"])
    status = await sharing._async_check_anchor(await hass.async_add_executor_job(audit.verify))
    if status.valid:
        # The anchor follows the log from here on (also the first time it is used).
        seq, digest = await hass.async_add_executor_job(audit.last)
        if seq:
            await sharing._async_save_anchor(seq, digest)
    async_update_audit_issue(hass, status, audit.path)

    @callback
    def _async_stop(_event: Event) -> None:
        sharing.async_shutdown()

    @callback
    def _async_entry_changed(change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if entry.domain == DOMAIN and entry.data.get(CONF_KIND) == KIND_DESTINATION:
            sharing.async_destination_changed(entry)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop)
    sharing._unsubscribe.append(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, _async_entry_changed)
    )
    sharing.async_resume()
    return sharing


async def async_resume_sharing(hass: HomeAssistant) -> None:
    """At start-up, load sharing if it was ever used (pending reports, a log, or an
    anchor saying a log existed); a fresh install still creates nothing."""
    root = Path(hass.config.path(AUDIT_FOLDER))
    used = await hass.async_add_executor_job(
        lambda: (root / "reports").is_dir() or (root / "audit.log").exists()
    )
    if used or await Store[dict[str, Any]](hass, 1, ANCHOR_KEY).async_load() is not None:
        await async_get_sharing(hass)


def existing_sharing(hass: HomeAssistant) -> Sharing | None:
    return hass.data.get(DATA_SHARING)
