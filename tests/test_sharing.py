"""The consent rules, each tested through Home Assistant with real recipients.

Rule numbers refer to "Consent rules" in the product brief.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import socket
import sys
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
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError, Unauthorized
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
from custom_components.privacy_cam.engine.sharing import senders
from custom_components.privacy_cam.engine.sharing.audit import GENESIS, _entry_hash
from custom_components.privacy_cam.sharing import DATA_SHARING, async_get_sharing

from .conftest import setup_demo, wait_for
from .engine.sharing.test_sharing import slow_server
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


async def _dialog(client: Any, report_id: str) -> tuple[int, dict[str, Any]]:
    """Open the consent dialog (Settings > Repairs > the issue) as this client's user."""
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": f"consent_{report_id}"}
    )
    if response.status != 200:
        return response.status, {}
    return response.status, await response.json()


async def _choose(client: Any, flow_id: str, choice: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/repairs/issues/fix/{flow_id}", json={"next_step_id": choice}
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def _decide(client: Any, report_id: str, choice: str) -> dict[str, Any]:
    status, dialog = await _dialog(client, report_id)
    assert status == 200, dialog
    if dialog["type"] == "abort":
        return dict(dialog)
    assert dialog["type"] == "menu" and dialog["menu_options"] == ["share", "discard"]
    return await _choose(client, dialog["flow_id"], choice)


def _issue(hass: HomeAssistant, report_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"consent_{report_id}")


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


async def _withdraw_in_ui(hass: HomeAssistant, destination: MockConfigEntry, report_id: str) -> Any:
    """Settings > Devices & services > the destination > Configure > Reports > Withdraw."""
    flow = hass.config_entries.options
    result = await flow.async_init(destination.entry_id)
    assert result["type"] is FlowResultType.MENU and result["step_id"] == "destination"
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "reports"})
    assert result["type"] is FlowResultType.FORM
    options = result["data_schema"].schema["report"].config["options"]
    assert report_id in [o["value"] for o in options]
    result = await flow.async_configure(result["flow_id"], {"report": report_id})
    assert result["type"] is FlowResultType.MENU and result["menu_options"] == ["withdraw"]
    assert report_id in result["description_placeholders"]["consent_text"]
    return await flow.async_configure(result["flow_id"], {"next_step_id": "withdraw"})


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
    # HA skips unavailable entities in entity services: record once the camera streams.
    await wait_for(lambda: entry.runtime_data.runtime.available, 15)
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
    hass_client_no_auth: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    hass_read_only_access_token: str,
) -> None:
    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        assert await async_setup_component(hass, "repairs", {})
        prepared = await _prepare(hass, clip, destination)
        report_id = prepared["report_id"]

        # Rule 3: prepared locally, nothing sent; the preview is the exact package.
        assert hook.received == []
        client = await hass_client()
        preview = await client.get(prepared["preview"]["url"])
        assert preview.status == 200
        assert preview.headers["Cache-Control"] == "no-store, private"
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

        # The owner is asked where they already are: a fixable repair issue.
        issue = _issue(hass, report_id)
        assert issue is not None and issue.is_fixable
        assert issue.translation_key == "consent_request"
        assert issue.translation_placeholders == {
            "recipient": "Acme Alarm Review",
            "report_id": report_id,
        }
        # Consent has no service any more: a phone's webhook or an automation cannot.
        assert not hass.services.has_service(DOMAIN, "consent_to_share")
        # Repairs are admin-only: a non-admin user cannot even open the dialog.
        status, _ = await _dialog(reader, report_id)
        assert status == 401

        # Rule 4: informed. The dialog shows everything the consent text says.
        status, dialog = await _dialog(client, report_id)
        assert status == 200 and dialog["type"] == "menu"
        shown = dialog["description_placeholders"]
        assert shown["recipient"] == DISCLOSURE["recipient"]
        assert shown["purpose"] == DISCLOSURE["purpose"]
        assert shown["humans_watch"] == "Yes"
        assert shown["retention"] == DISCLOSURE["retention"]
        assert shown["withdrawal"] == DISCLOSURE["withdrawal"]
        assert shown["where"] == f"the web address http://127.0.0.1:{hook.port}/hook"
        assert "privacy mask" in shown["redaction"]
        assert float(shown["duration"]) == pytest.approx(prepared["preview"]["duration"], abs=0.1)
        assert shown["consent_text"] == prepared["consent_text"]
        # The link plays the exact package: signed, expiring, for admins only.
        link = shown["preview"]
        assert link.startswith(prepared["preview"]["url"] + "?authSig=")
        anonymous = await hass_client_no_auth()
        assert (await anonymous.get(prepared["preview"]["url"])).status == 401
        signed = await anonymous.get(link)
        assert signed.status == 200 and await signed.read() == package
        assert signed.headers["Cache-Control"] == "no-store, private"
        assert (await anonymous.get(link + "x")).status == 401

        text = prepared["consent_text"]
        for value in DISCLOSURE.values():
            if value != "yes":
                assert value in text
        assert "WILL watch" in text and prepared["payload_sha256"] in text
        assert f"It goes to the web address http://127.0.0.1:{hook.port}/hook." in text
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

        # Rule 3: a package changed after the preview is not sent.
        package_path = _reports(hass) / report_id / "clip.mp4"
        await hass.async_add_executor_job(package_path.write_bytes, package + b"\0")
        refused = await _choose(client, dialog["flow_id"], "share")
        assert refused["type"] == "abort" and refused["reason"] == "payload_mismatch"
        await hass.async_add_executor_job(package_path.write_bytes, package)
        assert hook.received == []  # nothing left the box so far
        assert _issue(hass, report_id) is not None

        # The one valid consent sends exactly the previewed bytes.
        done = await _decide(client, report_id, "share")
        assert done["type"] == "create_entry"
        assert _issue(hass, report_id) is None
        assert len(hook.received) == 1
        post = hook.received[0]
        assert post.method == "POST" and post.path == "/hook"
        assert post.files["clip"] == ("clip.mp4", "video/mp4", package)
        report = json.loads(post.files["report"][2])
        assert report["report_id"] == report_id
        assert report["payload_sha256"] == prepared["payload_sha256"]
        assert report["camera"] == prepared["preview"]["camera"]
        assert report["time"].endswith(":00:00Z")
        assert report["disclosure"]["recipient"] == DISCLOSURE["recipient"]
        raw = post.files["report"][2].decode()
        assert "garden" not in raw.lower() and clip.id not in raw
        # One act, one send: the issue is gone, so is the dialog.
        status, _ = await _dialog(client, report_id)
        assert status == 400
        root = await async_browse_media(hass, f"media-source://{DOMAIN}")
        assert root.children is not None
        assert root.children[0].title == "Reports you shared"
        sent = await async_browse_media(hass, f"media-source://{DOMAIN}/shared-reports")
        assert sent.children is not None and len(sent.children) == 1
        assert sent.children[0].title.startswith("To Acme Alarm Review · Garden · ")

        # Rule 9: withdrawal from the UI: local copy gone, recipient asked, status shown.
        withdrawn = await _withdraw_in_ui(hass, destination, report_id)
        assert withdrawn["type"] is FlowResultType.ABORT and withdrawn["reason"] == "withdrawn"
        assert withdrawn["description_placeholders"]["asked"] == "HTTP 200"
        assert (hook.received[1].method, hook.received[1].path) == ("DELETE", f"/hook/{report_id}")
        assert not package_path.exists()
        assert (await client.get(prepared["preview"]["url"])).status == 404
        released = store.get(clip.id)
        assert released is not None and not released.protected and released.false_alarm

    # Rule 8: the audit trail has every step, chained.
    log = await _audit(hass)
    assert log["chain_valid"] is True
    actions = [entry["action"] for entry in log["entries"]]
    assert actions == [
        "prepare",
        "consent_refused",
        "consent",
        "send",
        "withdraw",
        "delete",
        "deletion_request",
    ]
    refused_entry = log["entries"][1]["details"]
    assert refused_entry["reason"] == "payload_mismatch"
    consent = next(e for e in log["entries"] if e["action"] == "consent")["details"]
    assert consent == {
        "report_id": report_id,
        "user_id": hass_admin_user.id,
        "consent_text_version": 3,
        "consent_text_sha256": prepared["consent_text_sha256"],
        "payload_sha256": prepared["payload_sha256"],
        "destination": destination.entry_id,
        "recipient": DISCLOSURE["recipient"],
        "purpose": DISCLOSURE["purpose"],
        "target": f"the web address http://127.0.0.1:{hook.port}/hook",
        "target_fingerprint": hashlib.sha256(hook.url.encode()).hexdigest()[:12],
    }
    send = next(e for e in log["entries"] if e["action"] == "send")["details"]
    assert send["target"] == consent["target"]

    # Tampering with the log is detected and raises a repair issue.
    audit_path = Path(hass.config.path("privacy_cam", "audit.log"))
    text = await hass.async_add_executor_job(audit_path.read_text)
    await hass.async_add_executor_job(audit_path.write_text, text.replace("payload_mismatch", "ok"))
    log = await _audit(hass)
    assert log["chain_valid"] is False and log["problem"] == "the entry was changed"
    assert ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered") is not None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["sharing"]["audit"]["chain_valid"] is False
    assert diagnostics["sharing"]["reports"] == {"withdrawn": 1}
    # (A destination's own diagnostics: tests/test_diagnostics.py.)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_rule7_sensitive_camera_and_rule10_learning_goes_on(
    hass: HomeAssistant, tmp_path: Path, hass_client: ClientSessionGenerator
) -> None:
    handover = tmp_path / "handover"
    handover.mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = await _destination(hass, path=str(handover))
    entry, clip = await _camera_with_clip(hass, {"sensitive": True})
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    with pytest.raises(ServiceValidationError) as err:
        await _prepare(hass, clip, destination)
    assert err.value.translation_key == "camera_sensitive"
    # Refusing to share changes nothing else: the local report and learning happened.
    runtime = entry.runtime_data.runtime
    assert runtime.learning.taught(clip.id)
    marked = runtime.shared.store.get(clip.id)
    assert marked is not None and marked.false_alarm and not marked.protected

    def _nothing_prepared() -> bool:
        return not any(_reports(hass).glob("*/clip.mp4")) and not any(handover.iterdir())

    assert await hass.async_add_executor_job(_nothing_prepared)

    # Explicitly unlocked: a report can be prepared and, with consent, shared.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": True}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    prepared = await _prepare(hass, clip, destination)
    assert "the folder " + str(handover) + " on this computer" in prepared["consent_text"]
    # Locked again before consent: refused at consent as well.
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": False}
    )
    refused = await _decide(client, prepared["report_id"], "share")
    assert refused["reason"] == "camera_sensitive"
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": True}
    )
    # The folder is checked again right before writing: now a link into www.
    www = Path(hass.config.path("www"))

    def _swap_for_link(to: Path) -> None:
        to.mkdir(exist_ok=True)
        handover.rename(tmp_path / "handover.real")
        handover.symlink_to(to)

    await hass.async_add_executor_job(_swap_for_link, www)
    hass.config.allowlist_external_dirs = {str(tmp_path), str(www)}
    refused = await _decide(client, prepared["report_id"], "share")
    assert refused["reason"] == "folder_is_published"
    assert not await hass.async_add_executor_job(lambda: any(www.iterdir()))

    def _restore() -> None:
        handover.unlink()
        (tmp_path / "handover.real").rename(handover)

    await hass.async_add_executor_job(_restore)
    done = await _decide(client, prepared["report_id"], "share")
    assert done["type"] == "create_entry"
    shared = handover / prepared["report_id"]

    def _delivered() -> tuple[str, dict[str, Any]]:
        clip_hash = hashlib.sha256((shared / "clip.mp4").read_bytes()).hexdigest()
        return clip_hash, json.loads((shared / "report.json").read_text())

    clip_hash, report = await hass.async_add_executor_job(_delivered)
    assert clip_hash == prepared["payload_sha256"]
    assert report["report_id"] == prepared["report_id"]
    withdrawn = await _withdraw(hass, prepared["report_id"])
    assert withdrawn["deletion_request"]["detail"] == "deleted"
    assert not await hass.async_add_executor_job(shared.exists)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_discard_failed_send_retry_and_expiry(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        first = await _prepare(hass, clip, destination)
        second = await _prepare(hass, clip, destination)
        third = await _prepare(hass, clip, destination)
        assert len({first["report_id"], second["report_id"], third["report_id"]}) == 3

        # "Don't share": package deleted, issue gone, audited; the clip stays protected
        # while other reports still need it.
        discarded = await _decide(client, third["report_id"], "discard")
        assert discarded["type"] == "create_entry"
        assert _issue(hass, third["report_id"]) is None
        assert not await hass.async_add_executor_job(
            (_reports(hass) / third["report_id"] / "clip.mp4").exists
        )
        marked = entry.runtime_data.runtime.shared.store.get(clip.id)
        assert marked is not None and marked.protected

        # The recipient fails: recorded, nothing marked as shared, consent may be repeated.
        hook.status = 503
        failed = await _decide(client, first["report_id"], "share")
        assert failed["type"] == "abort" and failed["reason"] == "share_failed"
        assert failed["description_placeholders"] == {"detail": "HTTP 503"}
        assert _issue(hass, first["report_id"]) is not None
        hook.status = 200
        # A double click: two dialogs agreeing at once send once; the other is told.
        _, one = await _dialog(client, first["report_id"])
        _, two = await _dialog(client, first["report_id"])
        # Plain HTTP (allowed to 127.0.0.1 only) is not called HTTPS in the consent text.
        assert one["description_placeholders"]["delivery"] == "HTTP upload"
        results = await asyncio.gather(
            _choose(client, one["flow_id"], "share"), _choose(client, two["flow_id"], "share")
        )
        assert sorted(r["type"] for r in results) == ["abort", "create_entry"]
        assert [r["reason"] for r in results if r["type"] == "abort"] == ["report_not_pending"]
        assert [r.method for r in hook.received] == ["POST", "POST"]

        # The other report expires after an hour: package deleted, issue gone.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=5))
        await hass.async_block_till_done()
        assert not await hass.async_add_executor_job(
            (_reports(hass) / second["report_id"] / "clip.mp4").exists
        )
        assert _issue(hass, second["report_id"]) is None
        with pytest.raises(Unresolvable):
            await async_resolve_media(
                hass, f"media-source://{DOMAIN}/report/{second['report_id']}", None
            )
        # The shared one is not touched by expiry; the clip stays protected by it.
        assert await hass.async_add_executor_job(
            (_reports(hass) / first["report_id"] / "clip.mp4").exists
        )
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
    actions = [e["action"] for e in (await _audit(hass))["entries"]]
    assert actions.count("failure") == 2 and actions.count("send") == 1
    assert "expire" in actions and "discard" in actions
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "withdraw_consent", {"report_id": "nope"}, blocking=True
        )
    assert err.value.translation_key == "report_not_found"
    # "Don't share" stands: a discarded or expired report has nothing to withdraw, in the
    # UI or by the service, and keeps its status.
    for never_sent in (third["report_id"], second["report_id"]):
        with pytest.raises(ServiceValidationError) as err:
            await _withdraw(hass, never_sent)
        assert err.value.translation_key == "report_never_sent"
        flow = hass.config_entries.options
        result = await flow.async_init(destination.entry_id)
        result = await flow.async_configure(result["flow_id"], {"next_step_id": "reports"})
        result = await flow.async_configure(result["flow_id"], {"report": never_sent})
        assert result["type"] is FlowResultType.ABORT and result["reason"] == "never_sent"
    sharing = hass.data[DATA_SHARING]
    assert sharing.reports.get(third["report_id"]).status == "discarded"
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
    assert not await hass.async_add_executor_job(Path(hass.config.path("privacy_cam")).exists)
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
        await hass.async_add_executor_job(
            (store.root / clip.path).write_bytes, b"not a video any more"
        )
        with pytest.raises(ServiceValidationError) as err:
            await _prepare(hass, clip, destination)
        assert err.value.translation_key == "package_failed"
        marked = store.get(clip.id)
        assert marked is not None and marked.false_alarm
        assert not await hass.async_add_executor_job(lambda: any(_reports(hass).glob("*/clip.mp4")))
        # A clip whose camera was removed: its privacy settings are unknown, so no share.
        await hass.config_entries.async_remove(entry.entry_id)
        with pytest.raises(ServiceValidationError) as err:
            await _prepare(hass, clip, destination)
        assert err.value.translation_key == "camera_not_found_for_share"
        assert hook.received == []
        log = await _audit(hass)
        assert [e["action"] for e in log["entries"]] == ["failure", "prepare_refused"]


async def test_pending_reports_survive_a_restart(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Expiry timers and consent dialogs come back at start-up; a report that expired
    while Home Assistant was down is deleted then; a package that vanished or changed
    is never sent."""
    from custom_components.privacy_cam.sharing import DATA_SHARING, async_resume_sharing

    with webhook_server() as hook:
        destination = await _destination(hass, url=hook.url)
        entry, clip = await _camera_with_clip(hass)
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        prepared = await _prepare(hass, clip, destination)
        late = await _prepare(hass, clip, destination)
        gone = await _prepare(hass, clip, destination)
        await hass.async_add_executor_job((_reports(hass) / gone["report_id"] / "clip.mp4").unlink)
        sharing = hass.data.pop(DATA_SHARING)
        sharing.async_shutdown()  # as after a restart: no timers, no dialogs
        registry = ir.async_get(hass)
        for report_id in (prepared["report_id"], late["report_id"]):
            registry.async_delete(DOMAIN, f"consent_{report_id}")
        report = sharing.reports.get(late["report_id"])
        assert report is not None
        report.expires = time.time() - 1  # it expired while Home Assistant was down
        await hass.async_add_executor_job(sharing.reports.save, report)

        await async_resume_sharing(hass)
        resumed = hass.data[DATA_SHARING]

        def _expired() -> bool:
            report = resumed.reports.get(late["report_id"])
            return report is not None and report.status == "expired"

        await wait_for(_expired, 10)
        assert _issue(hass, prepared["report_id"]) is not None
        assert _issue(hass, late["report_id"]) is None
        assert not await hass.async_add_executor_job(
            (_reports(hass) / late["report_id"] / "clip.mp4").exists
        )
        assert resumed is not sharing and prepared["report_id"] in resumed._timers
        refused = await _decide(client, gone["report_id"], "share")
        assert refused["reason"] == "payload_mismatch"
        assert (await _decide(client, prepared["report_id"], "share"))["type"] == "create_entry"
        assert hook.received[0].files["clip"][2] == await hass.async_add_executor_job(
            (_reports(hass) / prepared["report_id"] / "clip.mp4").read_bytes
        )
    await hass.config_entries.async_unload(entry.entry_id)


async def test_consent_covers_where_the_clip_goes(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The target is in the consent text; changing it voids pending reports at once;
    withdrawal goes where the clip went (also after a failed send), not to the new URL."""
    with webhook_server() as old, webhook_server() as new:
        destination = await _destination(hass, url=old.url + "?token=Tok-Secret-9")
        entry, clip = await _camera_with_clip(hass)
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        sent = await _prepare(hass, clip, destination)
        failed = await _prepare(hass, clip, destination)
        waiting = await _prepare(hass, clip, destination)
        assert "Tok-Secret-9" not in sent["consent_text"] and "hidden query" in sent["consent_text"]
        assert (await _decide(client, sent["report_id"], "share"))["type"] == "create_entry"
        old.status = 504  # the recipient got the bytes but answered with an error
        assert (await _decide(client, failed["report_id"], "share"))["reason"] == "share_failed"
        assert len(old.received) == 2 and old.received[1].files["clip"][0] == "clip.mp4"

        # A new URL: the waiting report is voided (copy deleted, dialog gone).
        hass.config_entries.async_update_entry(
            destination, data={**destination.data, CONF_URL: new.url}
        )
        assert await hass.config_entries.async_reload(destination.entry_id)
        await hass.async_block_till_done()
        assert _issue(hass, waiting["report_id"]) is None
        assert _issue(hass, failed["report_id"]) is None
        assert not await hass.async_add_executor_job(
            (_reports(hass) / waiting["report_id"] / "clip.mp4").exists
        )
        # The failed send may have reached the old recipient: it was asked to delete.
        assert [(r.method, r.path) for r in old.received[2:]] == [
            ("DELETE", f"/hook/{failed['report_id']}?token=Tok-Secret-9")
        ]
        # Withdrawal of the shared one goes to the old target, with its query.
        old.status = 200
        withdrawn = await _withdraw(hass, sent["report_id"])
        assert withdrawn["deletion_request"]["ok"] is True
        assert (old.received[-1].method, old.received[-1].path) == (
            "DELETE",
            f"/hook/{sent['report_id']}?token=Tok-Secret-9",
        )
        assert new.received == []
    log = await _audit(hass)
    voids = [e["details"] for e in log["entries"] if e["action"] == "void"]
    assert {v["report_id"] for v in voids} == {failed["report_id"], waiting["report_id"]}
    sends = [e for e in log["entries"] if e["action"] in ("send", "failure")]
    assert all("Tok-Secret-9" not in json.dumps(e) for e in log["entries"])
    assert {
        e["details"].get("target") for e in sends if e["details"].get("step") != "withdraw"
    } >= {
        f"the web address http://127.0.0.1:{old.port}/hook (plus a hidden query, fingerprint "
        f"{hashlib.sha256((old.url + '?token=Tok-Secret-9').encode()).hexdigest()[:12]})"
    }
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_slow_recipient_holds_nothing_else(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One deadline per send; other reports are discarded, expired and withdrawn while
    a send hangs; and the bytes sent are the bytes hashed (the package is read once)."""
    monkeypatch.setattr(senders, "DEADLINE", 5.0)
    opened: list[str] = []
    watching: list[str] = []

    def audit_hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and watching and str(args[0]) == watching[0]:
            opened.append(str(args[0]))

    sys.addaudithook(audit_hook)
    with slow_server("silent") as url:
        destination = await _destination(hass, url=url)
        entry, clip = await _camera_with_clip(hass)
        assert await async_setup_component(hass, "repairs", {})
        client = await hass_client()
        stuck = await _prepare(hass, clip, destination)
        other = await _prepare(hass, clip, destination)
        watching.append(str(_reports(hass) / stuck["report_id"] / "clip.mp4"))
        started = time.monotonic()
        sending = asyncio.ensure_future(_decide(client, stuck["report_id"], "share"))
        await wait_for(lambda: opened, 10)
        # While that send hangs, another report is discarded at once (timed on its
        # own: a loaded CI machine may take a while to start the send).
        discarding = time.monotonic()
        assert (await _decide(client, other["report_id"], "discard"))["type"] == "create_entry"
        assert time.monotonic() - discarding < 2.5 and not sending.done()
        result = await sending
        took = time.monotonic() - started
    assert result["reason"] == "share_failed"
    assert result["description_placeholders"] == {"detail": "deadline exceeded"}
    assert 4.5 < took < 12
    assert len(opened) == 1  # read once: hashed and sent from the same bytes
    await hass.config_entries.async_unload(entry.entry_id)


async def test_services_that_change_detection_or_destroy_evidence_are_admin_only(
    hass: HomeAssistant, hass_admin_user: MockUser, hass_read_only_user: MockUser
) -> None:
    entry, clip = await _camera_with_clip(hass)
    user = Context(user_id=hass_read_only_user.id)
    calls = {
        "report_false_alarm": {"clip_id": clip.id},
        "reset_learning": {ATTR_ENTITY_ID: "camera.garden"},
        "delete_clip": {"clip_id": clip.id},
        "keep_clip": {"clip_id": clip.id},
        "withdraw_consent": {"report_id": "0123456789abcdef"},
        "get_audit_log": {},
    }
    for service, data in calls.items():
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                service,
                data,
                blocking=True,
                context=user,
                return_response=service == "get_audit_log",
            )
    store = entry.runtime_data.runtime.shared.store
    kept = store.get(clip.id)
    assert kept is not None and not kept.false_alarm  # nothing happened
    assert not entry.runtime_data.runtime.learning.taught(clip.id)
    # An admin, and an automation (no user: written by an admin), may.
    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN, "keep_clip", {"clip_id": clip.id}, blocking=True, context=admin
    )
    await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"clip_id": clip.id}, blocking=True
    )
    marked = store.get(clip.id)
    assert marked is not None and marked.kept and marked.false_alarm
    # IDs are matched whole: a trailing newline is not the same clip.
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "delete_clip", {"clip_id": clip.id + "\n"}, blocking=True, context=admin
        )
    assert err.value.translation_key == "clip_not_found"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_clip_views_cache_and_stop_after_delete(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    entry, clip = await _camera_with_clip(hass)
    client = await hass_client()
    response = await client.get(f"/api/privacy_cam/clip/{clip.id}.mp4")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "private, max-age=60"
    assert (await client.get(f"/api/privacy_cam/clip/{clip.id}%0A.mp4")).status == 400
    assert (await client.get("/api/privacy_cam/report/0123456789abcdef%0A.mp4")).status == 400
    await hass.services.async_call(DOMAIN, "delete_clip", {"clip_id": clip.id}, blocking=True)
    assert (await client.get(f"/api/privacy_cam/clip/{clip.id}.mp4")).status == 404
    with pytest.raises(Unresolvable):
        await async_resolve_media(hass, f"media-source://{DOMAIN}/clip/{clip.id}\n", None)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_audit_log_integrity_in_home_assistant(hass: HomeAssistant) -> None:
    """Line separators in a declaration keep the chain; a torn last line is repaired
    and recorded at start-up; deleting both log files raises the repair issue."""
    from custom_components.privacy_cam.sharing import DATA_SHARING, async_get_sharing

    with webhook_server() as hook:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Acme",
            unique_id="webhook:x",
            data={
                "kind": "share_destination",
                "destination_kind": "webhook",
                CONF_URL: hook.url,
                **DISCLOSURE,
                "recipient": "Acme\u2028Alarm\u2029Review\u0085",
            },
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        camera, clip = await _camera_with_clip(hass)
        await _prepare(hass, clip, entry)
    assert (await _audit(hass))["chain_valid"] is True
    audit_path = Path(hass.config.path("privacy_cam", "audit.log"))

    def _tear() -> None:
        with audit_path.open("a") as file:
            file.write('{"seq": 99, "act')

    await hass.async_add_executor_job(_tear)
    hass.data.pop(DATA_SHARING).async_shutdown()
    await async_get_sharing(hass)
    log = await _audit(hass)
    assert log["chain_valid"] is True and log["entries"][-1]["action"] == "log_repaired"
    assert ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered") is None

    def _delete_both() -> None:
        audit_path.unlink()
        audit_path.with_name("audit.log.head").unlink()

    await hass.async_add_executor_job(_delete_both)
    hass.data.pop(DATA_SHARING).async_shutdown()
    await async_get_sharing(hass)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered")
    assert issue is not None and issue.translation_placeholders is not None
    assert issue.translation_placeholders["problem"] == "the log was deleted or cut short"
    await hass.config_entries.async_unload(camera.entry_id)


async def test_the_whole_journey_without_developer_tools(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
    hass_read_only_user: MockUser,
) -> None:
    """Share a clip from the destination's Configure dialog, decide in Repairs, and the
    edges: a dialog driven without a signed-in admin, a voided report, empty lists."""
    from homeassistant.components.repairs import repairs_flow_manager

    handover = tmp_path / "handover"
    handover.mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = await _destination(hass, path=str(handover))
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    flow = hass.config_entries.options
    # Nothing recorded and nothing reported yet.
    result = await flow.async_init(destination.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "share_clip"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_clips"
    result = await flow.async_init(destination.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "reports"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_reports"

    entry, clip = await _camera_with_clip(hass)
    result = await flow.async_init(destination.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "share_clip"})
    assert result["type"] is FlowResultType.FORM
    options = result["data_schema"].schema["clip"].config["options"]
    assert options[0]["value"] == clip.id and options[0]["label"].startswith("Garden · ")
    # A camera marked private: the dialog says why, nothing is prepared.
    hass.config_entries.async_update_entry(entry, options={**entry.options, "sensitive": True})
    refused = await flow.async_configure(
        result["flow_id"], {"clip": clip.id, "blur_outside_motion": True}
    )
    assert refused["type"] is FlowResultType.FORM
    assert refused["errors"] == {"base": "share_not_prepared"}
    hass.config_entries.async_update_entry(entry, options={**entry.options, "sensitive": False})
    result = await flow.async_configure(
        refused["flow_id"], {"clip": clip.id, "blur_outside_motion": True}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "share_prepared"
    sharing = hass.data[DATA_SHARING]
    (report,) = sharing.reports.all()
    assert _issue(hass, report.id) is not None

    # The dialog driven by code (no signed-in admin in the request) cannot consent.
    manager = repairs_flow_manager(hass)
    assert manager is not None
    shown = await manager.async_init(DOMAIN, data={"issue_id": f"consent_{report.id}"})
    assert shown["type"] is FlowResultType.MENU
    result = await manager.async_configure(shown["flow_id"], {"next_step_id": "share"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "consent_needs_person"
    assert not await hass.async_add_executor_job(lambda: any(handover.iterdir()))

    # Only an admin's consent counts, and only before expiry.
    with pytest.raises(ServiceValidationError) as err:
        await sharing.async_consent(report.id, hass_read_only_user.id, report.consent_sha256)
    assert err.value.translation_key == "consent_needs_admin"
    expires = report.expires
    report.expires = time.time() - 1
    result = await manager.async_init(DOMAIN, data={"issue_id": f"consent_{report.id}"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "report_expired"
    report.expires = expires
    # Reloading the destination unchanged keeps the report and its dialog.
    assert await hass.config_entries.async_reload(destination.entry_id)
    await hass.async_block_till_done()
    assert report.status == "prepared" and _issue(hass, report.id) is not None
    # Discarding twice: the second dialog is told it was already decided.
    _, first = await _dialog(client, report.id)
    _, second = await _dialog(client, report.id)
    assert (await _choose(client, first["flow_id"], "discard"))["type"] == "create_entry"
    again = await _choose(client, second["flow_id"], "discard")
    assert again["type"] == "abort" and again["reason"] == "report_not_pending"
    assert report.status == "discarded"

    # The report's view in Configure after the decision: nothing left, nothing to withdraw.
    result = await flow.async_init(destination.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "reports"})
    result = await flow.async_configure(result["flow_id"], {"report": report.id})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "never_sent"
    assert result["description_placeholders"]["status"] == "discarded"
    assert _issue(hass, report.id) is None
    result = await flow.async_init(destination.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "reports"})
    sharing.reports._reports.pop(report.id)  # gone while the dialog was open
    result = await flow.async_configure(result["flow_id"], {"report": report.id})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "report_not_found"
    # A dialog for a report that is gone just says so.
    ir.async_create_issue(
        hass,
        DOMAIN,
        "consent_0123456789abcdef",
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="consent_request",
        data={"report_id": "0123456789abcdef"},
    )
    result = await manager.async_init(DOMAIN, data={"issue_id": "consent_0123456789abcdef"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "report_not_found"

    # A report whose destination declaration changed is voided when its dialog opens.
    prepared = await _prepare(hass, clip, destination)
    report_obj = sharing.reports.get(prepared["report_id"])
    assert report_obj is not None
    report_obj.details["duration"] = 99.0  # the text it would show now differs
    result = await manager.async_init(DOMAIN, data={"issue_id": f"consent_{report_obj.id}"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "consent_text_mismatch"
    assert report_obj.status == "voided" and _issue(hass, report_obj.id) is None
    # Removing a destination voids what waits for it.
    waiting = await _prepare(hass, clip, destination)
    assert await hass.config_entries.async_remove(destination.entry_id)
    await hass.async_block_till_done()
    gone = sharing.reports.get(waiting["report_id"])
    assert gone is not None and gone.status == "voided"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_folder_destination_is_never_a_web_folder(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    www = Path(hass.config.path("www"))
    media = Path(hass.config.media_dirs.get("local") or hass.config.path("media"))
    private = tmp_path / "private"

    def _folders() -> None:
        for folder in (www, media, private):
            folder.mkdir(parents=True, exist_ok=True)
        (private / "to_www").symlink_to(www)

    await hass.async_add_executor_job(_folders)
    hass.config.allowlist_external_dirs = {str(tmp_path), str(www), str(media)}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "share_destination"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "destination_folder"}
    )
    for path in (www, www / "sub", media, private / "to_www"):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"path": str(path), **DISCLOSURE}
        )
        assert result["errors"] == {"path": "folder_is_published"}, path
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"path": str(private), **DISCLOSURE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def _audit_status(hass: HomeAssistant) -> Any:
    sharing = await async_get_sharing(hass)
    return (await sharing.async_read_audit())[1]


async def _restart_sharing(hass: HomeAssistant) -> None:
    sharing = await async_get_sharing(hass)
    sharing.async_shutdown()
    hass.data.pop(DATA_SHARING)


@pytest.mark.parametrize("tamper", ["delete_both", "cut_tail", "rewrite_history"])
async def test_tampering_stays_visible_after_the_next_entry(
    hass: HomeAssistant, tamper: str
) -> None:
    """Someone with file access changes the log; an ordinary entry afterwards (a prepare,
    an expiry) and a restart must not make the chain verify again."""
    sharing = await async_get_sharing(hass)
    for index in range(4):
        await sharing._async_log("consent", report_id=f"{index:016x}", user_id="real-admin")
    assert (await _audit_status(hass)).valid
    log = Path(hass.config.path("privacy_cam", "audit.log"))
    head = log.with_name("audit.log.head")

    def change() -> None:
        if tamper == "delete_both":
            log.unlink()
            head.unlink()
            return
        lines = log.read_text().splitlines()
        if tamper == "cut_tail":
            lines = lines[:2]
        prev, out = GENESIS, []
        for raw in lines:  # recompute the chain, as a forger with no key can
            entry = json.loads(raw)
            if tamper == "rewrite_history":
                entry["details"]["user_id"] = "someone-else"
            entry["prev"] = prev
            entry["hash"] = prev = _entry_hash(entry)
            out.append(json.dumps(entry, sort_keys=True) + "\n")
        log.write_text("".join(out))
        head.write_text(json.dumps({"seq": len(out), "hash": prev}))

    await hass.async_add_executor_job(change)
    await _restart_sharing(hass)
    assert not (await _audit_status(hass)).valid
    sharing = await async_get_sharing(hass)
    await sharing._async_log("prepare", report_id="00000000000000aa")
    assert not (await _audit_status(hass)).valid
    assert ir.async_get(hass).async_get_issue(DOMAIN, "audit_log_tampered") is not None
    await _restart_sharing(hass)
    assert not (await _audit_status(hass)).valid
    await _restart_sharing(hass)


async def test_a_new_camera_never_inherits_a_removed_private_cameras_clips(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Issue 10: a camera's identity is its config entry, not its name. A private camera
    "Garden" is removed; after a restart a new camera "Garden" gets none of its clips, and
    the old clip (still on disk, as evidence) can never be shared."""
    from custom_components.privacy_cam.storage import DATA_STORE

    handover = tmp_path / "handover"
    await hass.async_add_executor_job(handover.mkdir)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = await _destination(hass, path=str(handover))
    entry, clip = await _camera_with_clip(hass, {"sensitive": True})
    assert clip.owner == entry.entry_id
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    hass.data.pop(DATA_STORE)  # a restart: nothing of the old camera in memory
    new = MockConfigEntry(domain=DOMAIN, title="Garden", unique_id="demo2", data={"kind": "demo"})
    new.add_to_hass(hass)
    assert await hass.config_entries.async_setup(new.entry_id)
    await hass.async_block_till_done()
    runtime = new.runtime_data.runtime
    assert runtime.camera != clip.camera  # the old folder is not reused
    assert runtime.last_clip is None
    camera = runtime.camera_entity_id
    assert camera is not None
    listing = await hass.services.async_call(
        DOMAIN, "list_clips", {"camera": camera}, blocking=True, return_response=True
    )
    assert listing == {"clips": []}
    # Still on disk and listed with every clip, but never attached to the new camera.
    everything = await hass.services.async_call(
        DOMAIN, "list_clips", {}, blocking=True, return_response=True
    )
    assert [c["id"] for c in everything["clips"]] == [clip.id]  # type: ignore[index,union-attr]
    stored = runtime.shared.store.get(clip.id)
    assert stored is not None and stored.owner == entry.entry_id
    root = await async_browse_media(hass, f"media-source://{DOMAIN}")
    titles = {c.title: c.media_content_id for c in root.children}
    assert set(titles) == {"Garden", clip.camera}  # the removed camera's folder, by name
    node = await async_browse_media(hass, titles["Garden"])
    assert node.children == []
    removed = await async_browse_media(hass, titles[clip.camera])
    day = await async_browse_media(hass, removed.children[0].media_content_id)
    assert [c.media_content_id for c in day.children] == [f"media-source://{DOMAIN}/clip/{clip.id}"]
    # Preparing a share of the removed private camera's clip is refused.
    with pytest.raises(ServiceValidationError) as err:
        await _prepare(hass, clip, destination)
    assert err.value.translation_key == "camera_not_found_for_share"
    assert err.value.translation_domain == DOMAIN
    assert not await hass.async_add_executor_job(lambda: any(handover.iterdir()))
    assert not runtime.learning.taught(clip.id)  # nor does the new camera learn from it
    await hass.config_entries.async_unload(new.entry_id)


async def test_a_clip_without_an_owner_is_never_shared(
    hass: HomeAssistant, tmp_path: Path, hass_client: ClientSessionGenerator
) -> None:
    """Fail closed: a clip whose camera is unknown (adopted from the folder) is refused."""
    handover = tmp_path / "handover"
    await hass.async_add_executor_job(handover.mkdir)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = await _destination(hass, path=str(handover))
    entry, clip = await _camera_with_clip(hass, {"sharing_unlocked": True})
    store = entry.runtime_data.runtime.shared.store
    with store._lock:
        store._clips[clip.id].owner = None
    with pytest.raises(ServiceValidationError) as err:
        await _prepare(hass, clip, destination)
    assert err.value.translation_key == "camera_not_found_for_share"
    # A report whose clip was deleted before consent: its camera is unknown, refused.
    with store._lock:
        store._clips[clip.id].owner = entry.entry_id
    prepared = await _prepare(hass, clip, destination)
    await hass.services.async_call(DOMAIN, "delete_clip", {"clip_id": clip.id}, blocking=True)
    assert await async_setup_component(hass, "repairs", {})
    done = await _decide(await hass_client(), prepared["report_id"], "share")
    assert done["type"] == "abort" and done["reason"] == "camera_not_found_for_share"
    assert not await hass.async_add_executor_job(lambda: any(handover.iterdir()))
    await hass.config_entries.async_unload(entry.entry_id)


async def test_consent_checks_a_private_camera_when_the_clip_store_is_not_loaded(
    hass: HomeAssistant, tmp_path: Path, hass_client: ClientSessionGenerator
) -> None:
    """Issue 10: right after a restart, before any camera set up, the clip store is not
    loaded: consent loads it and still refuses a camera locked again in the meantime."""
    from custom_components.privacy_cam.storage import DATA_STORE

    handover = tmp_path / "handover"
    await hass.async_add_executor_job(handover.mkdir)
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    destination = await _destination(hass, path=str(handover))
    entry, clip = await _camera_with_clip(hass, {"sensitive": True, "sharing_unlocked": True})
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    prepared = await _prepare(hass, clip, destination)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "sharing_unlocked": False}
    )
    await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(DATA_STORE)
    done = await _decide(client, prepared["report_id"], "share")
    assert done["type"] == "abort" and done["reason"] == "camera_sensitive"
    assert not await hass.async_add_executor_job(lambda: any(handover.iterdir()))
    log = await _audit(hass)
    assert log["entries"][-1]["action"] == "consent_refused"
    assert log["entries"][-1]["details"]["reason"] == "camera_sensitive"
