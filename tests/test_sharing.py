"""The consent rules, each tested through Home Assistant with real recipients.

Rule numbers refer to "Consent rules" in the product brief.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from homeassistant.components.media_source import (
    Unresolvable,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.const import ATTR_ENTITY_ID, CONF_URL
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.privacy_cam.const import DOMAIN
from custom_components.privacy_cam.engine.recording.clipstore import Clip

from .conftest import setup_demo, wait_for
from .peers.http_camera import HttpCamera
from .peers.webhook import webhook_server

DISCLOSURE = {
    "recipient": "Acme Alarm Review",
    "purpose": "Improve false-alarm detection for this household",
    "humans_watch": "yes",
    "retention": "30 days",
    "withdrawal": "Email privacy@acme.example with the report ID.",
}
MASK = "0,0 0.3,0 0.3,0.3 0,0.3"


async def _destination(hass: HomeAssistant, **target: str) -> MockConfigEntry:
    kind = "webhook" if CONF_URL in target else "folder"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=DISCLOSURE["recipient"],
        unique_id=f"{kind}:{next(iter(target.values()))}",
        data={"kind": "share_destination", "destination_kind": kind, **target, **DISCLOSURE},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry


async def _camera_with_clip(
    hass: HomeAssistant, options: dict[str, Any] | None = None
) -> tuple[MockConfigEntry, Clip]:
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    entry = await setup_demo(
        hass, {"cooldown": 1, "preroll": 2, "postroll": 1, "masks": MASK, **(options or {})}
    )
    await wait_for(lambda: saved, 25)  # the demo walker makes a motion clip
    clip = entry.runtime_data.runtime.shared.store.get(saved[0].data["clip_id"])
    assert clip is not None and clip.motion is not None and clip.box is not None
    return entry, clip


async def _prepare(hass: HomeAssistant, clip: Clip, destination: MockConfigEntry) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "report_false_alarm",
        {"clip_id": clip.id, "share_with": destination.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


def _consent_data(prepared: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "report_id": prepared["report_id"],
        "payload_sha256": prepared["payload_sha256"],
        "consent_text_sha256": prepared["consent_text_sha256"],
        "agree": True,
        **changes,
    }


async def _consent(hass: HomeAssistant, data: dict[str, Any], context: Context) -> Any:
    return await hass.services.async_call(
        DOMAIN, "consent_to_share", data, blocking=True, context=context, return_response=True
    )


async def _refused(hass: HomeAssistant, data: dict[str, Any], context: Context) -> str:
    with pytest.raises(ServiceValidationError) as err:
        await _consent(hass, data, context)
    return str(err.value.translation_key)


async def _withdraw(
    hass: HomeAssistant, report_id: str, context: Context | None = None
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "withdraw_consent",
        {"report_id": report_id},
        blocking=True,
        context=context,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def _audit(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "get_audit_log", {}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _reports(hass: HomeAssistant) -> Path:
    return Path(hass.config.path("privacy_cam", "reports"))


async def test_rule1_fresh_install_connects_only_to_its_camera(
    hass: HomeAssistant, http_camera: HttpCamera, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Socket level: every connect and name lookup while a camera streams, records,
    and a false alarm is reported locally goes to the camera and nowhere else."""
    connects: list[Any] = []
    lookups: list[Any] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> Any:
        connects.append(address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        connects.append(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    assert await async_setup_component(hass, "media_source", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Porch",
        unique_id="porch",
        data={"kind": "mjpeg", CONF_URL: http_camera.url("/mjpeg"), "verify_ssl": True},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    saved: list[Event] = []
    hass.bus.async_listen(f"{DOMAIN}_clip_saved", saved.append)
    await hass.services.async_call(
        DOMAIN, "record_clip", {ATTR_ENTITY_ID: "camera.porch", "duration": 2}, blocking=True
    )
    await wait_for(lambda: saved, 15)
    await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"clip_id": saved[0].data["clip_id"]}, blocking=True
    )
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)

    camera = ("127.0.0.1", http_camera.port)
    assert connects and all(tuple(address[:2]) == camera for address in connects), connects
    assert set(lookups) <= {"127.0.0.1"}, lookups
    # Nothing about sharing exists until the owner asks for it.
    assert not Path(hass.config.path("privacy_cam")).exists()


async def test_share_end_to_end_with_every_consent_rule(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
) -> None:
    admin = Context(user_id=hass_admin_user.id)
    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        prepared = await _prepare(hass, clip, destination)

        # Rule 3: prepared locally, nothing sent; the preview is the exact package.
        assert hook.received == []
        client = await hass_client()
        preview = await client.get(prepared["preview"]["url"])
        assert preview.status == 200
        package = await preview.read()
        assert hashlib.sha256(package).hexdigest() == prepared["payload_sha256"]
        media = await async_resolve_media(hass, prepared["preview"]["media_content_id"], None)
        assert media.url == prepared["preview"]["url"]
        # The Media browser lists what waits for a decision, playable there.
        root = await async_browse_media(hass, f"media-source://{DOMAIN}")
        assert root.children is not None and root.children[0].title == (
            "Reports awaiting your consent"
        )
        pending = await async_browse_media(hass, f"media-source://{DOMAIN}/awaiting-consent")
        assert pending.children is not None and len(pending.children) == 1
        item = pending.children[0]
        assert item.media_content_id == prepared["preview"]["media_content_id"]
        assert item.can_play and "To Acme Alarm Review · Garden · until" in item.title
        reader = await hass_client(hass_read_only_access_token)
        assert (await reader.get(prepared["preview"]["url"])).status == 403

        # Rule 4: informed. Rule 5: minimised.
        text = prepared["consent_text"]
        for value in DISCLOSURE.values():
            if value != "yes":
                assert value in text
        assert "WILL watch" in text and prepared["payload_sha256"] in text
        assert hashlib.sha256(text.encode()).hexdigest() == prepared["consent_text_sha256"]
        assert prepared["disclosure"]["humans_watch"] is True
        expires = dt_util.parse_datetime(prepared["expires"])
        assert expires is not None
        assert abs((expires - dt_util.utcnow()).total_seconds() - 3600) < 60
        with av.open(io.BytesIO(package)) as container:
            assert len(container.streams) == 1
            video = container.streams.video[0]
            assert video.width <= 640
            duration = float(container.duration or 0) / av.time_base
        event = clip.motion[1] - clip.motion[0]  # type: ignore[index]
        assert duration < clip.duration - 1.5  # the pre-roll is gone
        assert abs(duration - event) < 0.6
        assert prepared["preview"]["camera"].startswith("camera-")
        assert prepared["preview"]["time"].endswith(":00:00Z")
        # Rule 6: masks and outside-the-motion blur named in what the owner reads.
        assert "1 privacy mask(s) painted black" in text and "pixelated" in text
        store = entry.runtime_data.runtime.shared.store
        marked = store.get(clip.id)
        assert marked is not None and marked.false_alarm and marked.protected

        good = _consent_data(prepared)
        # Rule 2: only an admin, acting directly.
        assert await _refused(hass, good, Context()) == "consent_needs_person"
        assert await _refused(hass, good, Context(user_id=hass_admin_user.id, parent_id="x")) == (
            "consent_needs_person"
        )
        read_only = Context(user_id=hass_read_only_user.id)
        assert await _refused(hass, good, read_only) == "consent_needs_admin"
        assert await _refused(hass, {**good, "agree": False}, admin) == "consent_not_given"
        # An automation triggered by the admin's own action still cannot consent.
        assert await async_setup_component(
            hass,
            "automation",
            {
                "automation": {
                    "trigger": {"platform": "event", "event_type": "share_it"},
                    "action": {"action": f"{DOMAIN}.consent_to_share", "data": good},
                }
            },
        )
        hass.bus.async_fire("share_it", context=admin)
        await hass.async_block_till_done()
        # ...nor a script the admin runs.
        assert await async_setup_component(
            hass,
            "script",
            {
                "script": {
                    "share": {"sequence": [{"action": f"{DOMAIN}.consent_to_share", "data": good}]}
                }
            },
        )
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call("script", "share", {}, blocking=True, context=admin)

        # Rule 3: hashes must match what was previewed and the current consent text.
        assert await _refused(hass, {**good, "payload_sha256": "0" * 64}, admin) == (
            "payload_mismatch"
        )
        assert await _refused(hass, {**good, "consent_text_sha256": "0" * 64}, admin) == (
            "consent_text_mismatch"
        )
        package_path = _reports(hass) / prepared["report_id"] / "clip.mp4"
        package_path.write_bytes(package + b"\0")  # tampered after the preview
        assert await _refused(hass, good, admin) == "payload_mismatch"
        package_path.write_bytes(package)
        assert hook.received == []  # nothing left the box so far

        # The one valid consent sends exactly the previewed bytes.
        result = await _consent(hass, good, admin)
        assert result["status"] == "shared" and result["delivery"]["status"] == 200
        assert len(hook.received) == 1
        post = hook.received[0]
        assert post.method == "POST" and post.path == "/hook"
        assert post.files["clip"] == ("clip.mp4", "video/mp4", package)
        report = json.loads(post.files["report"][2])
        assert report["report_id"] == prepared["report_id"]
        assert report["payload_sha256"] == prepared["payload_sha256"]
        assert report["camera"] == prepared["preview"]["camera"]
        assert report["time"].endswith(":00:00Z")
        assert report["disclosure"]["recipient"] == DISCLOSURE["recipient"]
        raw = post.files["report"][2].decode()
        assert "garden" not in raw.lower() and clip.id not in raw
        assert await _refused(hass, good, admin) == "report_not_pending"  # one act, one send
        root = await async_browse_media(hass, f"media-source://{DOMAIN}")
        assert root.children is not None
        assert all(child.title != "Reports awaiting your consent" for child in root.children)

        # Rule 9: withdrawal, one call: local copy gone, recipient asked, status shown.
        withdrawn = await _withdraw(hass, prepared["report_id"], admin)
        assert withdrawn["status"] == "withdrawn" and withdrawn["local_copy_deleted"]
        assert withdrawn["deletion_request"] == {"ok": True, "status": 200, "detail": "HTTP 200"}
        assert (hook.received[1].method, hook.received[1].path) == (
            "DELETE",
            f"/hook/{prepared['report_id']}",
        )
        assert not package_path.exists()
        assert (await client.get(prepared["preview"]["url"])).status == 404
        released = store.get(clip.id)
        assert released is not None and not released.protected and released.false_alarm

    # Rule 8: the audit trail has every step, chained.
    log = await _audit(hass)
    assert log["chain_valid"] is True
    actions = [entry["action"] for entry in log["entries"]]
    assert actions[0] == "prepare" and actions[-6:] == [
        "consent",
        "send",
        "consent_refused",
        "withdraw",
        "delete",
        "deletion_request",
    ]
    refusals = [e["details"]["reason"] for e in log["entries"] if e["action"] == "consent_refused"]
    assert refusals == [
        "consent_needs_person",
        "consent_needs_person",
        "consent_needs_admin",
        "consent_not_given",
        "consent_needs_person",  # the automation
        "consent_needs_person",  # the script
        "payload_mismatch",
        "consent_text_mismatch",
        "payload_mismatch",
        "report_not_pending",
    ]
    consent = next(e for e in log["entries"] if e["action"] == "consent")["details"]
    assert consent == {
        "report_id": prepared["report_id"],
        "user_id": hass_admin_user.id,
        "consent_text_version": 1,
        "consent_text_sha256": prepared["consent_text_sha256"],
        "payload_sha256": prepared["payload_sha256"],
        "destination": destination.entry_id,
        "recipient": DISCLOSURE["recipient"],
        "purpose": DISCLOSURE["purpose"],
    }

    # Tampering with the log is detected and raises a repair issue.
    audit_path = Path(hass.config.path("privacy_cam", "audit.log"))
    audit_path.write_text(audit_path.read_text().replace("consent_needs_admin", "ok"))
    log = await _audit(hass)
    assert log["chain_valid"] is False and log["problem"] == "the entry was changed"
    assert ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered") is not None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["sharing"]["audit"]["chain_valid"] is False
    assert diagnostics["sharing"]["reports"] == {"withdrawn": 1}
    dest_diag = await get_diagnostics_for_config_entry(hass, hass_client, destination)
    assert dest_diag["destination"]["target"] == f"http://127.0.0.1:{hook.port}/**REDACTED**"
    assert dest_diag["destination"]["recipient"] == DISCLOSURE["recipient"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_rule7_sensitive_camera_and_rule10_learning_goes_on(
    hass: HomeAssistant, tmp_path: Path, hass_admin_user: MockUser
) -> None:
    handover = tmp_path / "handover"
    handover.mkdir()
    destination = await _destination(hass, path=str(handover))
    entry, clip = await _camera_with_clip(hass, {"sensitive": True})
    with pytest.raises(ServiceValidationError) as err:
        await _prepare(hass, clip, destination)
    assert err.value.translation_key == "camera_sensitive"
    # Refusing to share changes nothing else: the local report and learning happened.
    runtime = entry.runtime_data.runtime
    assert runtime.learning.regions and runtime.learning.regions[0].reports == 1
    marked = runtime.shared.store.get(clip.id)
    assert marked is not None and marked.false_alarm and not marked.protected
    assert not any(_reports(hass).glob("*/clip.mp4")) and not any(handover.iterdir())

    # Explicitly unlocked: a report can be prepared and, with consent, shared.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": True}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    prepared = await _prepare(hass, clip, destination)
    # Locked again before consent: refused at consent as well.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": False}
    )
    admin = Context(user_id=hass_admin_user.id)
    assert await _refused(hass, _consent_data(prepared), admin) == "camera_sensitive"
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": True}
    )
    result = await _consent(hass, _consent_data(prepared), admin)
    assert result["status"] == "shared" and result["delivery"]["detail"] == "written"
    shared = handover / prepared["report_id"]
    assert (
        hashlib.sha256((shared / "clip.mp4").read_bytes()).hexdigest()
        == (prepared["payload_sha256"])
    )
    assert json.loads((shared / "report.json").read_text())["report_id"] == prepared["report_id"]
    withdrawn = await _withdraw(hass, prepared["report_id"])
    assert withdrawn["deletion_request"]["detail"] == "deleted"
    assert not shared.exists()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_failed_send_retry_and_expiry(hass: HomeAssistant, hass_admin_user: MockUser) -> None:
    admin = Context(user_id=hass_admin_user.id)
    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        first = await _prepare(hass, clip, destination)
        second = await _prepare(hass, clip, destination)
        assert first["report_id"] != second["report_id"]

        # The recipient fails: recorded, nothing marked as shared, consent may be repeated.
        hook.status = 503
        with pytest.raises(HomeAssistantError) as err:
            await _consent(hass, _consent_data(first), admin)
        assert err.value.translation_key == "share_failed"
        hook.status = 200
        # A double click: two consents at once send once; the other is told it is done.
        results = await asyncio.gather(
            _consent(hass, _consent_data(first), admin),
            _consent(hass, _consent_data(first), admin),
            return_exceptions=True,
        )
        assert [r["status"] for r in results if isinstance(r, dict)] == ["shared"]
        refused = [r for r in results if isinstance(r, ServiceValidationError)]
        assert [r.translation_key for r in refused] == ["report_not_pending"]
        assert [r.method for r in hook.received] == ["POST", "POST"]

        # The other report expires after an hour: package deleted, consent refused.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=5))
        await hass.async_block_till_done()
        assert not (_reports(hass) / second["report_id"] / "clip.mp4").exists()
        assert await _refused(hass, _consent_data(second), admin) == "report_not_pending"
        with pytest.raises(Unresolvable):
            await async_resolve_media(
                hass, f"media-source://{DOMAIN}/report/{second['report_id']}", None
            )
        # The shared one is not touched by expiry; the clip stays protected by it.
        assert (_reports(hass) / first["report_id"] / "clip.mp4").exists()
        marked = entry.runtime_data.runtime.shared.store.get(clip.id)
        assert marked is not None and marked.protected

        # The recipient fails to confirm the deletion: shown, logged, and retried on the
        # next withdrawal; once confirmed, withdrawing again sends nothing more.
        hook.status = 500
        withdrawn = await _withdraw(hass, first["report_id"])
        assert withdrawn["deletion_request"] == {"ok": False, "status": 500, "detail": "HTTP 500"}
        assert withdrawn["local_copy_deleted"] and withdrawn["status"] == "withdrawn"
        hook.status = 200
        assert (await _withdraw(hass, first["report_id"]))["deletion_request"]["ok"] is True
        assert (await _withdraw(hass, first["report_id"]))["deletion_request"] is None
        assert [r.method for r in hook.received] == ["POST", "POST", "DELETE", "DELETE"]

        # Withdrawing a report that was never shared sends nothing.
        withdrawn = await _withdraw(hass, second["report_id"])
        assert withdrawn["deletion_request"] is None
        assert len(hook.received) == 4
    actions = [e["action"] for e in (await _audit(hass))["entries"]]
    assert actions.count("failure") == 2 and actions.count("send") == 1
    assert "expire" in actions
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "withdraw_consent", {"report_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "report_not_found"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unknown_or_incomplete_destinations(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    entry, clip = await _camera_with_clip(hass)
    client = await hass_client()
    # Before anything was prepared there is no report to preview; malformed IDs are refused.
    assert (await client.get("/api/privacy_cam/report/0123456789abcdef.mp4")).status == 404
    assert (await client.get("/api/privacy_cam/report/..%2Fsecret.mp4")).status in (400, 404)
    assert (await client.get("/api/privacy_cam/report/XYZ.mp4")).status == 400
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "report_false_alarm",
            {"clip_id": clip.id, "share_with": entry.entry_id},  # a camera, not a destination
            blocking=True,
        )
    assert err.value.translation_key == "share_destination_not_found"
    # Nothing was marked and nothing about sharing was created.
    marked = entry.runtime_data.runtime.shared.store.get(clip.id)
    assert marked is not None and not marked.false_alarm
    assert not Path(hass.config.path("privacy_cam")).exists()
    # A destination missing a declaration cannot even load.
    incomplete = MockConfigEntry(
        domain=DOMAIN,
        title="Vague",
        data={
            "kind": "share_destination",
            "destination_kind": "webhook",
            CONF_URL: "https://vague.example/hook",
            **DISCLOSURE,
            "retention": "",
        },
    )
    incomplete.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(incomplete.entry_id)
    with pytest.raises(ServiceValidationError):
        await _prepare(hass, clip, incomplete)

    # A damaged clip: a clear error, the local report still made, nothing half-built.
    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        store = entry.runtime_data.runtime.shared.store
        (store.root / clip.path).write_bytes(b"not a video any more")
        with pytest.raises(ServiceValidationError) as err:
            await _prepare(hass, clip, destination)
        assert err.value.translation_key == "package_failed"
        marked = store.get(clip.id)
        assert marked is not None and marked.false_alarm
        assert not any(_reports(hass).glob("*/clip.mp4"))
        # A clip whose camera was removed: its privacy settings are unknown, so no share.
        await hass.config_entries.async_remove(entry.entry_id)
        with pytest.raises(ServiceValidationError) as err:
            await _prepare(hass, clip, destination)
        assert err.value.translation_key == "camera_not_found_for_share"
        assert hook.received == []
        log = await _audit(hass)
        assert [e["action"] for e in log["entries"]] == ["failure", "prepare_refused"]


async def test_audit_and_reports_survive_a_restart(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """Prepared reports keep their expiry and consentability across a restart of the
    sharing state; a tampered log found at start-up raises the repair issue at once."""
    from custom_components.privacy_cam.sharing import DATA_SHARING, async_get_sharing

    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        prepared = await _prepare(hass, clip, destination)
        hass.data.pop(DATA_SHARING).async_shutdown()  # as after a restart
        first, second = await asyncio.gather(async_get_sharing(hass), async_get_sharing(hass))
        assert first is second
        # A package that vanished from disk, or a report past its time, cannot be sent.
        gone = await _prepare(hass, clip, destination)
        (_reports(hass) / gone["report_id"] / "clip.mp4").unlink()
        admin = Context(user_id=hass_admin_user.id)
        assert await _refused(hass, _consent_data(gone), admin) == "payload_mismatch"
        late = await _prepare(hass, clip, destination)
        report = first.reports.get(late["report_id"])
        assert report is not None
        report.expires = time.time() - 1  # as if the timer had not run yet
        assert await _refused(hass, _consent_data(late), admin) == "report_expired"
        result = await _consent(hass, _consent_data(prepared), Context(user_id=hass_admin_user.id))
        assert result["status"] == "shared"
        assert (
            hook.received[0].files["clip"][2]
            == (_reports(hass) / prepared["report_id"] / "clip.mp4").read_bytes()
        )
        # A destination changed after preparing: the old consent text no longer holds.
        later = await _prepare(hass, clip, destination)
        hass.config_entries.async_update_entry(
            destination, data={**destination.data, "retention": "10 years"}
        )
        assert await hass.config_entries.async_reload(destination.entry_id)
        admin = Context(user_id=hass_admin_user.id)
        assert await _refused(hass, _consent_data(later), admin) == "consent_text_mismatch"
        # Removed: nothing can be sent to it any more, and a withdrawal says it could not
        # reach the recipient.
        assert await hass.config_entries.async_remove(destination.entry_id)
        refused = await _refused(hass, _consent_data(later), admin)
        assert refused == "share_destination_not_found"
        assert len(hook.received) == 1
        withdrawn = await _withdraw(hass, prepared["report_id"])
        assert withdrawn["deletion_request"] == {
            "ok": False,
            "status": None,
            "detail": "destination removed",
        }
    audit_path = Path(hass.config.path("privacy_cam", "audit.log"))
    lines = audit_path.read_text().splitlines(keepends=True)
    audit_path.write_text("".join(lines[:-1]))  # the last entry removed
    hass.data.pop(DATA_SHARING).async_shutdown()
    await async_get_sharing(hass)
    assert ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered") is not None
    await hass.config_entries.async_unload(entry.entry_id)
