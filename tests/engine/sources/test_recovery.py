"""Reconnecting: back within seconds after an outage of any length, without hammering."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine import SourceConfig, SourceState, create_source
from custom_components.privacy_cam.engine.sources.reachability import Reach, knock, probe_target
from custom_components.privacy_cam.engine.sources.source import PROBE_INTERVAL

from ...conftest import wait_until
from ...peers.http_camera import HttpCamera
from ...peers.rtsp import RtspServer
from .test_sources import Recorder

# The promise: streaming again at most this long after the camera answers.
RECOVERY_LIMIT = 5.0


def test_back_within_seconds_after_a_long_outage() -> None:
    """A 3-minute outage against a 60 s backoff, scaled down: the backoff tops out at 6 s
    (still over the 5 s promise, so waiting it out would fail) and the outage lasts until
    it has. The port is knocked on at the real interval (1 s)."""
    camera = HttpCamera()
    camera.start()
    config = SourceConfig(kind="mjpeg", url=camera.url("/mjpeg"), backoff_min=0.5, backoff_max=6.0)
    assert config.probe_interval == PROBE_INTERVAL == 1.0
    source = create_source(config)
    recorder = Recorder()
    source.add_listener(recorder)
    try:
        source.start()
        source.wait_ready(5)
        camera.stop()
        # Failures after 0, 0.5, 1.5, 3.5 and 7.5 s: the next wait is the full 6 s.
        wait_until(lambda: source.stats.reconnects >= 5, 20)
        recorder.states.clear()
        camera.start()
        answered = time.monotonic()
        recorder.wait_for(SourceState.STREAMING, 10)
        recovery = time.monotonic() - answered
        print(f"recovery after the outage: {recovery:.2f} s")
        assert recovery <= RECOVERY_LIMIT
        assert source.stats.early_retries >= 1
    finally:
        assert source.stop()
        camera.stop()


def test_a_failing_camera_whose_port_accepts_is_not_hammered(http_camera: HttpCamera) -> None:
    """HTTP 500 from a live port: knocks succeed all along, so they never cut the backoff."""
    source = create_source(
        SourceConfig(
            kind="mjpeg", url=http_camera.url("/error"), backoff_min=0.5, probe_interval=0.1
        )
    )
    before = http_camera.hits.count("/error")
    source.start()
    wait_until(lambda: source.stats.reconnects >= 3, 10)  # attempts at 0, 0.5 and 1.5 s
    started = time.monotonic()
    wait_until(lambda: source.stats.reconnects >= 4, 10)  # then 2 s of backoff, knocked 20 times
    assert time.monotonic() - started >= 1.5
    assert source.stop()
    assert http_camera.hits.count("/error") - before == 4
    assert source.stats.early_retries == 0


def test_wrapped_cameras_have_no_port_and_keep_the_backoff() -> None:
    calls: list[float] = []

    def fetch() -> bytes:
        calls.append(time.monotonic())
        raise OSError("no picture")

    source = create_source(
        SourceConfig(kind="camera_entity", fetch=fetch, backoff_min=0.3, probe_interval=0.05)
    )
    source.start()
    wait_until(lambda: len(calls) >= 3, 5)
    assert source.stop()
    assert calls[2] - calls[1] >= 0.5  # 0.3 then 0.6 s: doubled, not cut by a knock
    assert probe_target("") is None


def test_probe_targets() -> None:
    assert probe_target("rtsp://cam.local/stream1") == ("cam.local", 554)
    assert probe_target("https://192.168.1.20/x") == ("192.168.1.20", 443)
    assert probe_target("http://[::1]:8080/x") == ("::1", 8080)
    assert probe_target("/media/file.mp4") is None
    assert probe_target("http://cam:99999/x") is None


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listening port that never accepts, with its queue full: SYNs go unanswered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        fillers.append(client)
    yield port
    for client in fillers:
        client.close()
    server.close()


def test_knock(http_camera: HttpCamera, full_backlog: int) -> None:
    assert knock("127.0.0.1", http_camera.port, 1.0) is Reach.OPEN
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        free = closed.getsockname()[1]
    assert knock("127.0.0.1", free, 1.0) is Reach.REFUSED
    assert knock("127.0.0.1", full_backlog, 0.3) is Reach.NO_ANSWER


def test_knock_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """No route to the camera cannot happen on 127.0.0.1 (and newer harnesses refuse name
    look-ups): the network's answer is stood in for."""

    def no_route(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(errno.EHOSTUNREACH, "No route to host")

    monkeypatch.setattr(socket, "create_connection", no_route)
    assert knock("192.0.2.1", 80, 0.3) is Reach.UNREACHABLE


def test_rtsp_camera_back_within_seconds(videos: dict[str, Path]) -> None:
    """The same with an RTSP camera whose server is killed and started again."""
    server = RtspServer(videos["small"])
    port = server.port
    source = create_source(
        SourceConfig(kind="rtsp", url=server.url(), backoff_min=0.5, backoff_max=6.0)
    )
    recorder = Recorder()
    source.add_listener(recorder)
    try:
        source.start()
        source.wait_ready(10)
        server.stop()
        wait_until(lambda: source.stats.reconnects >= 5, 20)
        recorder.states.clear()
        server = RtspServer(videos["small"], port=port)  # prints READY once it listens
        answered = time.monotonic()
        recorder.wait_for(SourceState.STREAMING, 10)
        recovery = time.monotonic() - answered
        print(f"RTSP recovery after the outage: {recovery:.2f} s")
        assert recovery <= RECOVERY_LIMIT
        assert source.stats.early_retries >= 1
    finally:
        assert source.stop()
        server.stop()
