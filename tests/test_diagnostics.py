"""Diagnostics of each kind of camera and of a share destination, as snapshots: any new
field, and any credential, shows in review.

Left out of the snapshots, as they change from run to run: the frame statistics and
timings of a running source, and the port of a test peer (normalised to PORT).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.privacy_cam.const import (
    CONF_DETECT_URL,
    CONF_ENTITY_ID,
    CONF_KIND,
    DOMAIN,
)

from .conftest import RTSP_PASSWORD, RTSP_USER, ForeignCamera, RtspServer, wait_for
from .peers.http_camera import PASSWORD as HTTP_PASSWORD
from .peers.http_camera import USER as HTTP_USER
from .peers.http_camera import HttpCamera

# What a running source counts and times: different in every run.
VOLATILE = props(
    "fps",
    "frames",
    "decoded_frames",
    "analysis_frames",
    "dropped_frames",
    "reconnects",
    "early_retries",
    "connected_since",
    "keyframe_interval",  # measured once two keyframes came: soon or not yet
    # What the classifier did: a camera that saw motion before the snapshot has crops.
    "submitted",
    "skipped",
    "refused",
    "classified",
    "failed",
    "ms_per_crop",
    "cpu_ms_per_crop",
    "crops_submitted",
    "crops_skipped",
    "crops_failed",
    "events_labelled",
    "no_picture",
    "picture_errors",
)
# In a URL's query, and in its path, as some cameras and webhooks take a token.
QUERY_TOKEN, PATH_TOKEN = "Query-Secret-77", "Xk3pQ9sLmN2vB7tR"

DISCLOSURE = {
    "recipient": "Acme Alarm Review",
    "purpose": "Improve false-alarm detection for this household",
    "humans_watch": "yes",
    "retention": "30 days",
    "withdrawal": "Email privacy@acme.example with the report ID.",
}


def _without_ports(diagnostics: dict[str, Any]) -> dict[str, Any]:
    """The test peers listen on a free port of the day: the same text in every run."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", json.dumps(diagnostics))
    return dict(json.loads(text))


async def _camera(hass: HomeAssistant, data: dict[str, Any]) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, title="Garden", unique_id="cam", data=data)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _streaming(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await wait_for(lambda: entry.runtime_data.runtime.available, 10)
    await hass.async_block_till_done()


async def _failed(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await wait_for(lambda: entry.runtime_data.runtime.issues.last_error is not None, 10)
    await hass.async_block_till_done()


async def test_demo_camera(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert diagnostics == snapshot(exclude=VOLATILE)


async def test_rtsp_camera_with_login(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    rtsp_auth_server: RtspServer,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await _camera(
        hass,
        {
            CONF_KIND: "rtsp",
            CONF_URL: rtsp_auth_server.url(),
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
        },
    )
    await _streaming(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert _without_ports(diagnostics) == snapshot(exclude=VOLATILE)
    assert RTSP_PASSWORD not in json.dumps(diagnostics)


async def test_rtsp_camera_with_a_detection_stream(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    rtsp_auth_server: RtspServer,
    snapshot: SnapshotAssertion,
) -> None:
    """The detection stream (a substream) has its own section; its address may carry a
    token too, and it uses the main stream's login."""
    entry = await _camera(
        hass,
        {
            CONF_KIND: "rtsp",
            CONF_URL: rtsp_auth_server.url(),
            CONF_DETECT_URL: rtsp_auth_server.url() + f"?subtype=1&token={QUERY_TOKEN}",
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
        },
    )
    await _streaming(hass, entry)
    detect = entry.runtime_data.runtime.pipeline.detect_source
    await wait_for(lambda: detect.state.value == "streaming", 10)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert _without_ports(diagnostics) == snapshot(exclude=VOLATILE)
    text = json.dumps(diagnostics)
    for secret in (RTSP_PASSWORD, QUERY_TOKEN):
        assert secret not in text


async def test_mjpeg_camera_refusing_its_login_redacts_every_credential(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    http_camera: HttpCamera,
    snapshot: SnapshotAssertion,
) -> None:
    """A wrong password, and a token in the URL's query: nothing of either, nor the
    user name, is in the diagnostics; the rest of the query is."""
    entry = await _camera(
        hass,
        {
            CONF_KIND: "mjpeg",
            CONF_URL: http_camera.url("/mjpeg_basic") + f"?channel=2&token={QUERY_TOKEN}",
            CONF_USERNAME: HTTP_USER,
            CONF_PASSWORD: "Bad-Pass-42",
        },
    )
    await _failed(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert _without_ports(diagnostics) == snapshot(exclude=VOLATILE)
    text = json.dumps(diagnostics)
    for secret in ("Bad-Pass-42", QUERY_TOKEN, HTTP_USER):
        assert secret not in text


async def test_snapshot_camera_with_login(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    http_camera: HttpCamera,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await _camera(
        hass,
        {
            CONF_KIND: "snapshot",
            CONF_URL: http_camera.url("/snapshot_basic"),
            CONF_USERNAME: HTTP_USER,
            CONF_PASSWORD: HTTP_PASSWORD,
        },
    )
    await _streaming(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert _without_ports(diagnostics) == snapshot(exclude=VOLATILE)
    text = json.dumps(diagnostics)
    for secret in (HTTP_PASSWORD, HTTP_USER):
        assert secret not in text


async def test_snapshot_camera_counts_oversized_pictures(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, http_camera: HttpCamera
) -> None:
    """Pictures over the pixel cap are refused and counted (how many: as time goes)."""
    entry = await _camera(
        hass, {CONF_KIND: "snapshot", CONF_URL: http_camera.url("/snapshot_huge")}
    )
    await _failed(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["source"]["oversized"] >= 1
    assert diagnostics["source"]["last_error_kind"] == "no_video"


async def test_wrapped_camera_entity(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    foreign_camera: ForeignCamera,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await _camera(hass, {CONF_KIND: "camera_entity", CONF_ENTITY_ID: "camera.porch"})
    await _streaming(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(exclude=VOLATILE)


@pytest.mark.parametrize(
    "target",
    [
        {
            "destination_kind": "webhook",
            CONF_URL: f"https://hooks.example/{PATH_TOKEN}?key={QUERY_TOKEN}",
        },
        {"destination_kind": "folder", "path": "/share/acme"},
    ],
    ids=["webhook", "folder"],
)
async def test_share_destination(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    target: dict[str, str],
) -> None:
    """A webhook's address may carry a token in its path or query: only its origin."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=DISCLOSURE["recipient"],
        unique_id=f"destination:{target['destination_kind']}",
        data={CONF_KIND: "share_destination", **target, **DISCLOSURE},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot
    text = json.dumps(diagnostics)
    for secret in (PATH_TOKEN, QUERY_TOKEN):
        assert secret not in text
