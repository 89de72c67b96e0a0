"""Config flow: an RTSP camera's detection stream (its substream) found, typed, tested
before saving, reconfigured; options: every frame or keyframes only.

The peers are real gst-rtsp-server cameras answering the paths of the common brands.
gst-rtsp-server matches a mount by its path alone (1.22 ignores the query), so the Dahua
camera's one mount `/cam/realmonitor` answers `subtype=0` and `subtype=1` alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import pytest_socket
import voluptuous as vol
from homeassistant import config_entries
from homeassistant.const import CONF_NAME, CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.privacy_cam import config_flow
from custom_components.privacy_cam.const import (
    CONF_DETECT_FRAMES,
    CONF_DETECT_PASSWORD,
    CONF_DETECT_URL,
    CONF_DETECT_USERNAME,
    CONF_KIND,
    DOMAIN,
)

from .conftest import RTSP_PASSWORD, RTSP_USER, wait_for
from .peers.rtsp import RtspServer
from .peers.videos import make_h264

OTHER_USER, OTHER_PASSWORD = "viewer", "Other-Secret5"
# Main and substream paths, as the brands name them.
BRANDS = {
    "reolink": ("/h264Preview_01_main", "/h264Preview_01_sub"),
    "hikvision": ("/Streaming/Channels/101", "/Streaming/Channels/102"),
    "dahua": ("/cam/realmonitor?channel=1&subtype=0", "/cam/realmonitor?channel=1&subtype=1"),
}
REOLINK_MAIN, REOLINK_SUB = BRANDS["reolink"]


@pytest.fixture(scope="module")
def sub_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("substream")
    return make_h264(folder / "sub.mp4", width=160, height=120, seconds=40.0)


def _server(video: Path, *extra: str) -> Iterator[RtspServer]:
    pytest_socket.enable_socket()  # module fixtures start before socket_enabled
    server = RtspServer(video, *extra)
    try:
        yield server
    finally:
        server.stop()
        if server.process.stdout is not None:  # the peer's READY pipe
            server.process.stdout.close()


@pytest.fixture(scope="module")
def camera(videos: dict[str, Path], sub_video: Path) -> Iterator[RtspServer]:
    """One camera with a login that answers the three brands' main and sub paths, and
    Hikvision's channel 2 main stream, which has no substream."""
    main, sub = videos["small"], sub_video
    yield from _server(
        main,
        f"/h264Preview_01_main={main}",
        f"/h264Preview_01_sub={sub}",
        f"/Streaming/Channels/101={main}",
        f"/Streaming/Channels/102={sub}",
        f"/Streaming/Channels/201={main}",
        f"/cam/realmonitor={main}",
        "--auth",
        f"{RTSP_USER}:{RTSP_PASSWORD}",
    )


@pytest.fixture(scope="module")
def other_login(sub_video: Path) -> Iterator[RtspServer]:
    """A stream with a login other than the camera's."""
    yield from _server(sub_video, "--auth", f"{OTHER_USER}:{OTHER_PASSWORD}")


def _with_login(url: str, user: str, password: str | None = None) -> str:
    userinfo = user if password is None else f"{user}:{password}"
    return url.replace("rtsp://", f"rtsp://{userinfo}@")


async def _rtsp_form(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rtsp"}
    )


async def _main_stream(hass: HomeAssistant, url: str) -> dict[str, Any]:
    """The RTSP form filled in with a main stream that works: the detection step."""
    result = await _rtsp_form(hass)
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, CONF_USERNAME: RTSP_USER, CONF_PASSWORD: RTSP_PASSWORD}
    )


def _suggested(result: dict[str, Any]) -> dict[str, Any]:
    """Every value a form shows pre-filled: suggested values and defaults."""
    shown: dict[str, Any] = {}
    for key in result["data_schema"].schema:
        if key.description and "suggested_value" in key.description:
            shown[str(key)] = key.description["suggested_value"]
        elif not isinstance(key.default, type(vol.UNDEFINED)):
            shown[str(key)] = key.default()
    return shown


def _assert_no_secret(result: dict[str, Any], *secrets: str) -> None:
    """Neither a pre-filled value, a description placeholder nor an error shows a secret
    or a URL's userinfo."""
    assert result["type"] is FlowResultType.FORM
    shown = _suggested(result)
    text = repr((shown, result.get("description_placeholders"), result.get("errors")))
    for secret in secrets:
        assert secret not in text
    for key in (CONF_URL, CONF_DETECT_URL):
        assert "@" not in str(shown.get(key, ""))


async def _named(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    assert result["step_id"] == "name"
    suggestion = result["description_placeholders"]["suggestion"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: suggestion}
    )


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


def _entry(camera: RtspServer, **extra: str) -> MockConfigEntry:
    url = camera.url(REOLINK_MAIN)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Drive",
        unique_id=url,
        data={
            CONF_KIND: "rtsp",
            CONF_URL: url,
            CONF_USERNAME: RTSP_USER,
            CONF_PASSWORD: RTSP_PASSWORD,
            **extra,
        },
    )


# Adding a camera ------------------------------------------------------------------------


@pytest.mark.parametrize("brand", list(BRANDS))
async def test_substream_found_and_preselected(
    hass: HomeAssistant, camera: RtspServer, brand: str
) -> None:
    """The brand's substream answers with the camera's login: preselected, and the form
    says where it was found."""
    main, sub = BRANDS[brand]
    result = await _main_stream(hass, camera.url(main))
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    assert result["step_id"] == "detection_stream_found"
    assert _suggested(result) == {CONF_DETECT_URL: camera.url(sub)}
    assert result["description_placeholders"] == {"substream": camera.url(sub)}
    _assert_no_secret(result, RTSP_PASSWORD)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _suggested(result))
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The same login as the main stream: nothing of its own is stored.
    assert result["data"] == {
        CONF_KIND: "rtsp",
        CONF_URL: camera.url(main),
        CONF_USERNAME: RTSP_USER,
        CONF_PASSWORD: RTSP_PASSWORD,
        CONF_DETECT_URL: camera.url(sub),
    }
    await _unload_all(hass)


async def test_no_substream_found(hass: HomeAssistant, camera: RtspServer) -> None:
    """Hikvision channel 2 has no substream here: nothing is preselected, and leaving
    the field empty saves the camera without a detection stream."""
    result = await _main_stream(hass, camera.url("/Streaming/Channels/201"))
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    assert result["step_id"] == "detection_stream"
    assert _suggested(result) == {}
    assert result["description_placeholders"] == {"substream": ""}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_DETECT_URL not in result["data"]
    await _unload_all(hass)


async def test_wrong_substream_then_saved_without(
    hass: HomeAssistant, camera: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.privacy_cam")
    result = await _main_stream(hass, camera.url(REOLINK_MAIN))
    assert result["step_id"] == "detection_stream_found"
    flow_id = result["flow_id"]
    configure = hass.config_entries.flow.async_configure
    # A path the camera does not have.
    wrong = camera.url("/h264Preview_01_nothing")
    result = await configure(flow_id, {CONF_DETECT_URL: wrong})
    assert result["errors"] == {CONF_DETECT_URL: "detect_stream_failed"}
    assert result["step_id"] == "detection_stream_found"  # still says what was found
    assert _suggested(result) == {CONF_DETECT_URL: wrong}  # what was typed, to correct
    # A login the camera refuses: re-shown without it.
    typed = _with_login(camera.url(REOLINK_SUB), OTHER_USER, "Wrong-Secret6")
    result = await configure(flow_id, {CONF_DETECT_URL: typed})
    assert result["errors"] == {CONF_DETECT_URL: "detect_invalid_auth"}
    _assert_no_secret(result, "Wrong-Secret6", RTSP_PASSWORD)
    assert _suggested(result) == {CONF_DETECT_URL: camera.url(REOLINK_SUB)}
    # The main stream again, or not an RTSP address.
    result = await configure(flow_id, {CONF_DETECT_URL: camera.url(REOLINK_MAIN)})
    assert result["errors"] == {CONF_DETECT_URL: "detect_is_main"}
    for url in ("http://127.0.0.1/sub", "rtsp://127.0.0.1:99999/sub"):
        result = await configure(flow_id, {CONF_DETECT_URL: _with_login(url, "u", "Typo-7")})
        assert result["errors"] == {CONF_DETECT_URL: "invalid_url"}
        _assert_no_secret(result, "Typo-7")
    # The user gives up on it: saved without one.
    result = await configure(flow_id, {CONF_DETECT_URL: ""})
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_DETECT_URL not in result["data"]
    await _unload_all(hass)
    for secret in (RTSP_PASSWORD, "Wrong-Secret6", "Typo-7"):
        assert secret not in caplog.text


async def test_substream_with_its_own_login(
    hass: HomeAssistant, camera: RtspServer, other_login: RtspServer
) -> None:
    """Another login, written into the URL, is stored apart from it."""
    result = await _main_stream(hass, camera.url(REOLINK_MAIN))
    typed = _with_login(other_login.url(), OTHER_USER, OTHER_PASSWORD)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DETECT_URL: typed}
    )
    result = await _named(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_DETECT_URL] == other_login.url()
    assert result["data"][CONF_DETECT_USERNAME] == OTHER_USER
    assert result["data"][CONF_DETECT_PASSWORD] == OTHER_PASSWORD
    await _unload_all(hass)


async def test_only_the_cameras_host_is_tried(
    hass: HomeAssistant, camera: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever the candidates, only the camera's own host and port are probed, at most
    three, each briefly, with the main stream's login."""
    host = f"127.0.0.1:{camera.port}"
    main = camera.url(REOLINK_MAIN)
    candidates = [
        f"rtsp://192.0.2.7:{camera.port}/h264Preview_01_sub",  # another host
        f"rtsp://127.0.0.1:{camera.port + 1}/h264Preview_01_sub",  # another port
        "rtsp://127.0.0.1:99999/h264Preview_01_sub",  # malformed
        main.upper().replace("/H264PREVIEW_01_MAIN", REOLINK_MAIN),  # the main stream
        f"rtsp://{host}/raises",
        f"rtsp://{RTSP_USER}:{RTSP_PASSWORD}@{host}/missing",  # a login is never kept
        f"rtsp://{host}/missing2",
        camera.url(REOLINK_SUB),  # would answer, but past the limit
    ]
    probed: list[tuple[str, str | None, float, tuple[Any, ...]]] = []
    real_probe = config_flow.probe

    def probe(config: Any, *args: Any) -> Any:
        if config.url != main:
            probed.append((config.url, config.username, config.connect_timeout, args))
        if config.url.endswith("/raises"):
            raise RuntimeError("a bug")
        return real_probe(config, *args)

    with (
        patch.object(config_flow, "substream_candidates", return_value=candidates),
        patch.object(config_flow, "probe", probe),
    ):
        result = await _main_stream(hass, main)
        assert result["step_id"] == "detection_stream"
        assert probed == [
            (f"rtsp://{host}/{path}", RTSP_USER, 4.0, (4.0,))
            for path in ("raises", "missing", "missing2")
        ]
        # The same unexpected error on a typed URL is a form error too.
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_DETECT_URL: f"rtsp://{host}/raises"}
        )
        assert result["errors"] == {CONF_DETECT_URL: "unknown"}
    assert "Unexpected error while trying rtsp://127.0.0.1" in caplog.text
    assert RTSP_PASSWORD not in caplog.text


# Reconfigure ----------------------------------------------------------------------------


async def test_reconfigure_adds_changes_and_clears_it(
    hass: HomeAssistant, camera: RtspServer, other_login: RtspServer
) -> None:
    entry = _entry(camera)
    entry.add_to_hass(hass)
    main = camera.url(REOLINK_MAIN)
    secrets = (RTSP_PASSWORD, OTHER_PASSWORD, "Typo-7")

    async def reconfigure(detect_url: str | None, url: str = main) -> dict[str, Any]:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        _assert_no_secret(result, *secrets)
        user_input = {CONF_URL: url, CONF_USERNAME: RTSP_USER}  # password kept
        if detect_url is not None:
            user_input[CONF_DETECT_URL] = detect_url
        return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)

    result = await entry.start_reconfigure_flow(hass)
    assert CONF_DETECT_URL in {str(key) for key in result["data_schema"].schema}
    assert CONF_DETECT_URL not in _suggested(result)

    # A wrong one: an error on its field, nothing saved.
    result = await reconfigure(camera.url("/h264Preview_01_nothing"))
    assert result["errors"] == {CONF_DETECT_URL: "detect_stream_failed"}
    result = await reconfigure(_with_login("rtsp://127.0.0.1:99999/x", "u", "Typo-7"))
    assert result["errors"] == {CONF_DETECT_URL: "invalid_url"}
    _assert_no_secret(result, *secrets)
    # A main stream that fails is reported first; the emptied field stays empty.
    result = await reconfigure("", camera.url("/h264Preview_01_nothing"))
    assert result["errors"] == {"base": "no_video"}
    assert _suggested(result)[CONF_DETECT_URL] == ""
    assert CONF_DETECT_URL not in entry.data

    # Added, with a login of its own.
    result = await reconfigure(_with_login(other_login.url(), OTHER_USER, OTHER_PASSWORD))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PASSWORD] == RTSP_PASSWORD
    assert entry.data[CONF_DETECT_URL] == other_login.url()
    assert (entry.data[CONF_DETECT_USERNAME], entry.data[CONF_DETECT_PASSWORD]) == (
        OTHER_USER,
        OTHER_PASSWORD,
    )
    await hass.async_block_till_done()

    # Shown without its login; sent back as shown, it keeps it (and still works).
    result = await entry.start_reconfigure_flow(hass)
    _assert_no_secret(result, *secrets, OTHER_USER)
    assert _suggested(result)[CONF_DETECT_URL] == other_login.url()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_suggested(result), CONF_USERNAME: RTSP_USER}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_DETECT_USERNAME] == OTHER_USER
    await hass.async_block_till_done()

    # Changed to the camera's own substream, naming the main stream's user: the main
    # stream's login again.
    result = await reconfigure(_with_login(camera.url(REOLINK_SUB), RTSP_USER))
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_DETECT_URL] == camera.url(REOLINK_SUB)
    assert CONF_DETECT_USERNAME not in entry.data
    assert CONF_DETECT_PASSWORD not in entry.data
    await hass.async_block_till_done()

    # Emptied: the camera detects on its main stream.
    result = await reconfigure(None)
    assert result["reason"] == "reconfigure_successful"
    assert CONF_DETECT_URL not in entry.data
    await hass.async_block_till_done()
    await _unload_all(hass)


# Options --------------------------------------------------------------------------------


@pytest.mark.parametrize("substream", [True, False])
async def test_options_keyframes_only(
    hass: HomeAssistant, camera: RtspServer, substream: bool
) -> None:
    """The measured keyframe interval (1 s in these videos) of the stream detection
    decodes is shown; "keyframes only" reaches the running camera."""
    entry = _entry(camera, **({CONF_DETECT_URL: camera.url(REOLINK_SUB)} if substream else {}))
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["description_placeholders"]["keyframe_interval"] == "—"  # not running
    assert _suggested(result)[CONF_DETECT_FRAMES] == "every_frame"
    hass.config_entries.options.async_abort(result["flow_id"])

    assert await hass.config_entries.async_setup(entry.entry_id)

    def interval() -> Any:
        stats = entry.runtime_data.runtime.pipeline.stats()
        return (stats["detection_stream"] if substream else stats).get("keyframe_interval")

    await wait_for(lambda: interval() is not None, 20)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    shown = result["description_placeholders"]["keyframe_interval"]
    assert shown.endswith(" s") and 0.8 <= float(shown.removesuffix(" s")) <= 1.2, shown
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_DETECT_FRAMES: "keyframes"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_DETECT_FRAMES] == "keyframes"
    await hass.async_block_till_done()  # reloaded
    pipeline = entry.runtime_data.runtime.pipeline
    detect = pipeline.detect_source if substream else pipeline.source
    assert detect.config.keyframes_only is True
    await _unload_all(hass)


async def test_options_without_video_decoding_have_no_keyframe_choice(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="demo", data={CONF_KIND: "demo"})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_DETECT_FRAMES not in {str(key) for key in result["data_schema"].schema}
    hass.config_entries.options.async_abort(result["flow_id"])
