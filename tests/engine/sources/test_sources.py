"""Sources against real peers: RTSP server, HTTP camera, the demo scene."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from custom_components.privacy_cam.engine import (
    ErrorKind,
    SourceConfig,
    SourceError,
    SourceState,
    create_source,
    probe,
)
from custom_components.privacy_cam.engine.sources.frames import AnalysisFrame, EncodedPacket
from custom_components.privacy_cam.engine.sources.jpeg import jpeg_size
from custom_components.privacy_cam.engine.sources.queues import DropOldestQueue
from custom_components.privacy_cam.engine.sources.source import Source

from ...conftest import RTSP_PASSWORD, RTSP_USER, RtspServer
from ...peers.http_camera import PASSWORD, USER, HttpCamera


class Recorder:
    """A listener that records state changes (called on the source thread)."""

    def __init__(self) -> None:
        self.states: list[tuple[SourceState, ErrorKind | None]] = []
        self.changed = threading.Event()

    def on_state(self, state: SourceState, error: SourceError | None) -> None:
        self.states.append((state, error.kind if error else None))
        self.changed.set()

    def wait_for(self, state: SourceState, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(s == state for s, _ in self.states):
                return
            self.changed.wait(0.1)
            self.changed.clear()
        raise AssertionError(f"never reached {state}: {self.states}")


def _analysis_frames(source: Source) -> DropOldestQueue[AnalysisFrame]:
    """What a camera's pipeline gives the motion thread: the source's analysis frames."""
    frames: DropOldestQueue[AnalysisFrame] = DropOldestQueue(2)
    source.add_frame_callback(frames.put)
    return frames


def _probe_error(config: SourceConfig) -> SourceError:
    with pytest.raises(SourceError) as err:
        probe(config)
    return err.value


def _run(source: Source, seconds: float) -> None:
    source.start()
    time.sleep(seconds)
    assert source.stop()
    assert not source.running


# RTSP ---------------------------------------------------------------------------


def test_rtsp_stream_frames_packets_still(rtsp_server: RtspServer) -> None:
    source = create_source(SourceConfig(kind="rtsp", url=rtsp_server.url()))
    frames = _analysis_frames(source)
    packets: list[EncodedPacket] = []
    remove = source.add_packet_callback(packets.append)
    recorder = Recorder()
    source.add_listener(recorder)
    source.start()
    info = source.wait_ready(10)
    assert (info.codec, info.width, info.height) == ("h264", 320, 240)
    assert info.extradata
    frame = frames.get(5)
    assert frame is not None and frame.gray.shape == (120, 160)
    assert frame.gray.dtype == np.uint8 and frame.gray.std() > 10
    still = source.still_jpeg()
    assert still is not None and jpeg_size(still) == (320, 240)
    small = source.still_jpeg(width=160)
    assert small is not None and jpeg_size(small) == (160, 120)
    time.sleep(3.0)
    remove()
    started = time.monotonic()
    assert source.stop()
    assert time.monotonic() - started < 2.0
    assert packets and packets[0].is_keyframe
    assert any(not p.is_keyframe for p in packets)
    assert source.stats.fps is not None and 5 < source.stats.fps < 20
    assert source.state is SourceState.STOPPED
    assert recorder.states[0] == (SourceState.CONNECTING, None)
    assert (SourceState.STREAMING, None) in recorder.states
    assert source.still_jpeg() is None


def test_rtsp_analysis_rate_is_throttled(rtsp_server: RtspServer) -> None:
    source = create_source(SourceConfig(kind="rtsp", url=rtsp_server.url(), analysis_fps=2))
    source.start()
    source.wait_ready(10)
    time.sleep(2.2)
    frames = source.stats.frames
    analysed = source.stats.analysis_frames
    source.stop()
    # 10 fps source, 2 fps analysis.
    assert frames >= 15
    assert 3 <= analysed <= 7


def test_rtsp_auth(rtsp_auth_server: RtspServer) -> None:
    url = rtsp_auth_server.url()
    assert (
        probe(SourceConfig(kind="rtsp", url=url, username=RTSP_USER, password=RTSP_PASSWORD)).width
        == 320
    )
    for username, password in ((RTSP_USER, "wrong"), (None, None)):
        err = _probe_error(SourceConfig(kind="rtsp", url=url, username=username, password=password))
        assert err.kind is ErrorKind.INVALID_AUTH
        assert "wrong" not in str(err)


def test_rtsp_bad_auth_waits_for_user(rtsp_auth_server: RtspServer) -> None:
    """Bad credentials are not retried (camera lockouts); stop still returns fast."""
    source = create_source(
        SourceConfig(kind="rtsp", url=rtsp_auth_server.url(), username=RTSP_USER, password="x")
    )
    recorder = Recorder()
    source.add_listener(recorder)
    source.start()
    recorder.wait_for(SourceState.FAILED)
    time.sleep(1.5)
    assert source.stats.reconnects == 1
    assert source.stats.last_error_kind is ErrorKind.INVALID_AUTH
    assert source.stop()


def test_rtsp_errors(rtsp_server: RtspServer) -> None:
    assert _probe_error(SourceConfig(kind="rtsp", url=rtsp_server.url("/nope"))).kind is (
        ErrorKind.NO_VIDEO
    )
    assert _probe_error(SourceConfig(kind="rtsp", url="rtsp://127.0.0.1:1/x")).kind is (
        ErrorKind.CONNECTION_REFUSED
    )
    assert _probe_error(SourceConfig(kind="rtsp", url="http://127.0.0.1/x")).kind is (
        ErrorKind.INVALID_URL
    )


def test_file_source_garbage_and_no_video(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(3).bytes(200_000))
    assert _probe_error(SourceConfig(kind="file", url=str(garbage))).kind in (ErrorKind.NO_VIDEO,)
    audio = tmp_path / "audio.wav"
    import av

    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
    assert _probe_error(SourceConfig(kind="file", url=str(audio))).kind is ErrorKind.NO_VIDEO


def test_file_source_h264_with_corrupt_packets(tmp_path: Path, videos: dict[str, Path]) -> None:
    """Flipped bytes inside a real H.264 file: frames still come, nothing crashes."""
    data = bytearray(videos["small"].read_bytes())
    rng = np.random.default_rng(5)
    for offset in rng.integers(len(data) // 4, len(data), 40):
        data[offset] ^= 0xFF
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    info = probe(SourceConfig(kind="file", url=str(damaged)))
    assert info.width == 320


# HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mjpeg", "/mjpeg_nolength"])
def test_mjpeg_stream(http_camera: HttpCamera, path: str) -> None:
    source = create_source(SourceConfig(kind="mjpeg", url=http_camera.url(path)))
    frames = _analysis_frames(source)
    source.start()
    assert source.wait_ready(5).width == 320
    frame = frames.get(5)
    assert frame is not None and frame.gray.shape == (120, 160)
    raw = source.still_jpeg()
    assert raw in http_camera.frames  # proxied as the camera sent it
    small = source.still_jpeg(width=100)
    assert small is not None and jpeg_size(small) == (100, 76)
    started = time.monotonic()
    assert source.stop()
    assert time.monotonic() - started < 1.0


def test_mjpeg_auth(http_camera: HttpCamera) -> None:
    for path in ("/mjpeg_basic", "/mjpeg_digest"):
        good = SourceConfig(
            kind="mjpeg", url=http_camera.url(path), username=USER, password=PASSWORD
        )
        assert probe(good).width == 320
        bad = SourceConfig(kind="mjpeg", url=http_camera.url(path), username=USER, password="no")
        err = _probe_error(bad)
        assert err.kind is ErrorKind.INVALID_AUTH
        assert _probe_error(SourceConfig(kind="mjpeg", url=http_camera.url(path))).kind is (
            ErrorKind.INVALID_AUTH
        )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/mjpeg_garbage", ErrorKind.NO_VIDEO),
        ("/html", ErrorKind.NO_VIDEO),
        ("/nope", ErrorKind.NO_VIDEO),
        ("/error", ErrorKind.CANNOT_CONNECT),
    ],
)
def test_mjpeg_errors(http_camera: HttpCamera, path: str, kind: ErrorKind) -> None:
    assert _probe_error(SourceConfig(kind="mjpeg", url=http_camera.url(path))).kind is kind


def test_unreachable_and_invalid() -> None:
    assert _probe_error(SourceConfig(kind="mjpeg", url="http://127.0.0.1:1/x")).kind is (
        ErrorKind.CONNECTION_REFUSED
    )
    assert _probe_error(SourceConfig(kind="snapshot", url="rtsp://cam/x")).kind is (
        ErrorKind.INVALID_URL
    )
    assert _probe_error(SourceConfig(kind="weird")).kind is ErrorKind.INVALID_URL


def test_mjpeg_reconnects_after_server_dies(http_camera: HttpCamera) -> None:
    source = create_source(SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg_dies")))
    recorder = Recorder()
    source.add_listener(recorder)
    source.start()
    recorder.wait_for(SourceState.FAILED, 5)
    # Backoff is 1 s after a session that streamed: it comes back by itself.
    deadline = time.monotonic() + 5
    while source.stats.reconnects < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert source.stop()
    assert source.stats.reconnects >= 2
    assert source.stats.frames >= 6
    assert source.stats.last_error == "stream ended"


def test_server_down_then_back() -> None:
    camera = HttpCamera()
    camera.start()
    source = create_source(SourceConfig(kind="mjpeg", url=camera.url("/mjpeg")))
    recorder = Recorder()
    source.add_listener(recorder)
    try:
        source.start()
        source.wait_ready(5)
        camera.stop()
        recorder.wait_for(SourceState.FAILED, 5)
        recorder.states.clear()
        camera.start()
        recorder.wait_for(SourceState.STREAMING, 8)
        assert source.stats.reconnects >= 1
    finally:
        assert source.stop()
        camera.stop()


def test_snapshot_polling(http_camera: HttpCamera) -> None:
    source = create_source(
        SourceConfig(
            kind="snapshot",
            url=http_camera.url("/snapshot_basic"),
            username=USER,
            password=PASSWORD,
            snapshot_interval=0.2,
        )
    )
    _run(source, 1.3)
    assert 4 <= source.stats.frames <= 9
    err = _probe_error(SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_garbage")))
    assert err.kind is ErrorKind.NO_VIDEO
    assert _probe_error(
        SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_basic"))
    ).kind is (ErrorKind.INVALID_AUTH)


def test_snapshot_fetch_callable_and_large_images() -> None:
    """A fetch callable (HA camera entities) with a 1080p image decoded at reduced size."""
    import av

    from custom_components.privacy_cam.engine.sources.jpeg import encode_jpeg

    big = encode_jpeg(av.VideoFrame.from_ndarray(np.full((1080, 1920, 3), 80, np.uint8), "rgb24"))
    calls = []

    def fetch() -> bytes:
        calls.append(1)
        return big

    source = create_source(SourceConfig(kind="camera_entity", fetch=fetch, snapshot_interval=0.1))
    frames = _analysis_frames(source)
    source.start()
    info = source.wait_ready(5)
    assert (info.width, info.height) == (1920, 1080)
    frame = frames.get(5)
    # Decoded at 1/8 size by the JPEG decoder, then scaled: 135 -> 120 rows.
    assert frame is not None and frame.gray.shape[0] == 120
    assert frame.gray.shape[1] in (212, 214)
    assert source.still_jpeg() == big
    assert jpeg_size(source.still_jpeg(640) or b"") == (640, 360)
    assert source.stop()
    assert len(calls) >= 1


def test_demo_source() -> None:
    source = create_source(SourceConfig(kind="demo"))
    packets: list[EncodedPacket] = []
    source.add_packet_callback(packets.append)
    source.start()
    info = source.wait_ready(5)
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 640, 360, 10.0)
    assert info.extradata  # global header, so clips can be remuxed
    time.sleep(0.6)
    assert source.stop()
    assert packets and packets[0].is_keyframe
    assert 4 <= source.stats.frames <= 9  # real time, 10 fps


def test_demo_scene_walker() -> None:
    from custom_components.privacy_cam.engine.sources.demo import DemoScene

    scene = DemoScene()
    assert scene.walker_box(1.0) is None
    box_a, box_b = scene.walker_box(4.0), scene.walker_box(6.0)
    assert box_a is not None and box_b is not None and box_b[0] > box_a[0]
    back_a, back_b = scene.walker_box(24.0), scene.walker_box(26.0)
    assert back_a is not None and back_b is not None and back_b[0] < back_a[0]
    still, moving = scene.render(1.0), scene.render(6.0)
    assert np.array_equal(still, scene.render(2.0))
    assert not np.array_equal(still, moving)


def test_listener_errors_do_not_kill_source(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def on_state(self, state: SourceState, error: SourceError | None) -> None:
            raise RuntimeError("listener bug")

    source = create_source(SourceConfig(kind="demo"))
    remove = source.add_listener(Broken())
    source.start()
    source.wait_ready(5)
    assert source.running
    remove()
    source.start()  # already running: no second thread
    assert source.stop()
    assert "Source listener failed" in caplog.text
