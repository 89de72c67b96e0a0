"""Shared fixtures: real camera peers on 127.0.0.1 and Home Assistant helpers."""

# Import our package first: the harness ships its own `custom_components`
# package, which would otherwise shadow ours.
from custom_components.privacy_cam.const import DOMAIN  # isort: skip

import asyncio
import contextlib
import enum
import functools
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import pytest_socket
from homeassistant import block_async_io
from homeassistant.components.camera import Camera
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import loop as loop_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.syrupy import (
    HomeAssistantSnapshotExtension,
    HomeAssistantSnapshotSerializer,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.privacy_cam.engine.sources import demo

from .peers.http_camera import HttpCamera
from .peers.rtsp import RtspServer
from .peers.rtsp import rtsp_server as rtsp_server_peer
from .peers.videos import make_h264

RTSP_USER, RTSP_PASSWORD = "admin", "rtsp-Secret9"
# A fixed config entry id, as core's tests use: unique ids and snapshots stay the same.
ENTRY_ID = "01JPRIVACYCAMGARDEN0000000"

__all__ = ["DOMAIN"]


BLOCKING_MARK = "Detected blocking call"


def _detect_on_the_loop(call: Any, main_thread: int) -> Callable[..., Any]:
    """Like HA's `protect_loop`, but only while an event loop runs on the main thread:
    the harness runs sync fixtures and pytest itself on that thread too, outside any
    loop, where blocking is fine."""
    original = call.original_func

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if (
            threading.get_ident() == main_thread
            and asyncio._get_running_loop() is not None
            and not _test_machinery(sys._getframe(1))
        ):
            loop_util.raise_for_blocking_call(
                original,
                strict=call.strict,
                strict_core=call.strict_core,
                check_allowed=call.check_allowed,
                args=args,
                kwargs=kwargs,
            )
        return original(*args, **kwargs)

    return guarded


# Blocking on the loop by the test machinery, not by Home Assistant or our integration:
# unittest.mock resolving a patch target, pytest rewriting a module imported inside a test,
# syrupy reading a test's snapshot file at its first `== snapshot`.
_MACHINERY = (
    "pkgutil.py",
    "_pytest/assertion/rewrite.py",
    "syrupy/extensions/amber/serializer.py",
)


def _test_machinery(frame: Any) -> bool:
    for _ in range(4):  # open() is reached through pathlib or io in a frame or two
        if frame is None:
            return False
        if frame.f_code.co_filename.endswith(_MACHINERY):
            return True
        frame = frame.f_back
    return False


def _enable_blocking_call_detection() -> None:
    """HA's start-up turns on `block_async_io.enable()`; the harness does not, and even
    enabled it skips file and TLS calls under tests. Turn all of them on, as in a real
    Home Assistant (which is where `load_default_certs` on the loop was reported)."""
    main_thread = threading.get_ident()
    for call in block_async_io._BLOCKING_CALLS:
        setattr(call.object, call.function, _detect_on_the_loop(call, main_thread))


_enable_blocking_call_detection()


class _BlockingCallRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if BLOCKING_MARK in message:
            self.messages.append(message.split("Traceback", 1)[0].strip())


@pytest.fixture(autouse=True)
def fail_on_blocking_calls() -> Iterator[_BlockingCallRecords]:
    """Any blocking call made on the event loop fails the test that made it."""
    loop_util._PREVIOUSLY_REPORTED.clear()  # else a repeat is only logged at debug
    handler = _BlockingCallRecords()
    logger = logging.getLogger(loop_util.__name__)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    assert not handler.messages, "\n\n".join(handler.messages)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/privacy_cam."""


@pytest.fixture(autouse=True)
def isolated_media(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Clips, reports and the audit log of Home Assistant tests go to the test's own
    folders, never the harness's."""
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.media_dirs = {"local": str(tmp_path / "media")}
        hass.config.config_dir = str(tmp_path / "config")


@pytest.fixture
async def hass_client(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> ClientSessionGenerator:
    """HA freezes its HTTP router when the first test client starts: integrations that
    register views (diagnostics) are set up before a test can start one."""
    assert await async_setup_component(hass, "diagnostics", {})
    return hass_client


@pytest.fixture(autouse=True)
def allow_loopback_sockets(socket_enabled: None) -> None:
    """Our tests talk to real peers; the harness still only lets them reach 127.0.0.1."""


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {"small": make_h264(folder / "small.mp4", seconds=40.0)}


def _start_rtsp(videos: dict[str, Path], *extra: str) -> Iterator[RtspServer]:
    pytest_socket.enable_socket()  # session fixtures start before socket_enabled
    with rtsp_server_peer(videos["small"], *extra) as server:
        yield server


@pytest.fixture(scope="session")
def rtsp_server(videos: dict[str, Path]) -> Iterator[RtspServer]:
    yield from _start_rtsp(videos)


@pytest.fixture(scope="session")
def rtsp_auth_server(videos: dict[str, Path]) -> Iterator[RtspServer]:
    yield from _start_rtsp(videos, "--auth", f"{RTSP_USER}:{RTSP_PASSWORD}")


@pytest.fixture(scope="session")
def http_camera() -> Generator[HttpCamera]:
    pytest_socket.enable_socket()  # session fixtures start before socket_enabled
    camera = HttpCamera()
    camera.start()
    yield camera
    camera.stop()


class ForeignCamera(Camera):
    """A camera entity of another integration, for the camera_entity source."""

    _attr_name = "Porch"
    _attr_unique_id = "porch"

    def __init__(self, image: bytes | None, stream: str | None = None) -> None:
        super().__init__()
        self.image = image
        self.stream_url = stream
        self.stream_error: Exception | None = None

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        return self.image

    async def stream_source(self) -> str | None:
        if self.stream_error:
            raise self.stream_error
        return self.stream_url


@pytest.fixture
async def foreign_camera(hass: HomeAssistant, http_camera: HttpCamera) -> ForeignCamera:
    """camera.porch, provided by a test integration, serving real JPEGs."""
    camera = ForeignCamera(http_camera.frames[0])

    async def setup_platform(
        hass: HomeAssistant, config: dict, add_entities: AddEntitiesCallback, discovery_info=None
    ) -> None:
        add_entities([camera])

    mock_integration(hass, MockModule("test"))
    mock_platform(hass, "test.camera", MockPlatform(async_setup_platform=setup_platform))
    assert await async_setup_component(hass, "camera", {"camera": {"platform": "test"}})
    await hass.async_block_till_done()
    return camera


async def setup_demo(hass: HomeAssistant, options: dict[str, Any] | None = None) -> MockConfigEntry:
    """The demo camera as "Garden" (camera.garden), with the media browser set up."""
    assert await async_setup_component(hass, "media_source", {})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden",
        unique_id="demo",
        data={"kind": "demo"},
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


class _SnapshotSerializer(HomeAssistantSnapshotSerializer):
    """Dict keys as plain strings: Home Assistant 2026.10 keys state attributes and
    entity capabilities with enums (`EntityStateAttribute.FRIENDLY_NAME`) where 2026.2
    has strings; both mean the same, and one snapshot holds for both."""

    @classmethod
    def serialize_dict(cls, data: dict[Any, Any], **kwargs: Any) -> str:
        if any(isinstance(key, enum.Enum) for key in data):
            data = type(data)(
                {key.value if isinstance(key, enum.Enum) else key: v for key, v in data.items()}
            )
        return super().serialize_dict(data, **kwargs)


class _SnapshotExtension(HomeAssistantSnapshotExtension):
    serializer_class = _SnapshotSerializer


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's snapshot (its extension named here: which plugin's `snapshot`
    this one wraps differs between harness versions), the same in 2026.2 and 2026.10,
    without what no snapshot may hold or can hold still: the rotating access tokens of
    camera and image entities (`access_token`, and the `entity_picture` URL that carries
    one), and the registry's `aliases` (a set in 2026.2, a list in 2026.10)."""
    return snapshot.with_defaults(
        extension_class=_SnapshotExtension,
        exclude=props("access_token", "entity_picture", "aliases"),
    )


@pytest.fixture
def still_garden() -> Iterator[None]:
    """The demo camera with nobody walking by: no motion, so every state holds still."""
    with patch.object(demo, "WALK_START", demo.CYCLE_SECONDS):
        yield


@pytest.fixture
def mock_config_entry(hass: HomeAssistant) -> MockConfigEntry:
    """The demo camera "Garden", with a fixed entry id; added, not set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Garden",
        unique_id="demo",
        entry_id=ENTRY_ID,
        data={"kind": "demo"},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def platforms() -> list[Platform] | None:
    """The platforms `init_integration` sets up (None: all of them). A platform's own
    test file overrides this with its one platform, as core's per-platform tests do."""
    return None


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform] | None,
    still_garden: None,
) -> AsyncIterator[MockConfigEntry]:
    """The still garden set up with `platforms`, streaming: entities of a camera that
    does not stream are unavailable, and an unavailable state has no attributes."""
    limit = (
        patch("custom_components.privacy_cam.PLATFORMS", platforms)
        if platforms
        else contextlib.nullcontext()
    )
    with limit:
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        await wait_for(lambda: mock_config_entry.runtime_data.runtime.available, 10)
        await hass.async_block_till_done()
        yield mock_config_entry
        await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def wait_for(predicate: Any, seconds: float) -> None:
    """Poll (worker threads report through the loop) until `predicate()` holds: the
    one way a Home Assistant test waits for something a camera thread does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def wait_until(predicate: Any, seconds: float) -> None:
    """The same for engine tests, which have no event loop: the worker threads report
    directly, so a plain poll sees the signal."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
