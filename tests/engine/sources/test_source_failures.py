"""How sources fail: TLS, stalls, servers dying, undecodable video, odd multipart."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
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
from custom_components.privacy_cam.engine.sources.http_sources import MAX_PART_BYTES, iter_parts

from ...peers.http_camera import HttpCamera, self_signed_context
from ...peers.rtsp import RtspServer
from .test_sources import Recorder


def test_https_self_signed(tmp_path: Path) -> None:
    camera = HttpCamera(ssl_context=self_signed_context(str(tmp_path)))
    camera.start()
    try:
        strict = SourceConfig(kind="mjpeg", url=camera.url("/mjpeg"))
        with pytest.raises(SourceError) as err:
            probe(strict)
        assert err.value.kind is ErrorKind.CANNOT_CONNECT
        relaxed = SourceConfig(kind="mjpeg", url=camera.url("/mjpeg"), verify_ssl=False)
        assert probe(relaxed).width == 320
    finally:
        camera.stop()


@pytest.fixture
def silent_server() -> tuple[socket.socket, list[socket.socket]]:
    """Accepts TCP connections and never says a word (a hung camera)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    clients: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                clients.append(server.accept()[0])
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server, clients
    server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    server.close()
    for client in clients:
        client.close()
    thread.join(2)


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_hung_camera_times_out(
    silent_server: tuple[socket.socket, list[socket.socket]], scheme: str
) -> None:
    port = silent_server[0].getsockname()[1]
    kind = "rtsp" if scheme == "rtsp" else "mjpeg"
    config = SourceConfig(kind=kind, url=f"{scheme}://127.0.0.1:{port}/x", connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        probe(config)
    # It accepted the connection and then said nothing: "no answer", not "refused".
    assert err.value.kind is ErrorKind.NO_ANSWER
    assert time.monotonic() - started < 5


@contextmanager
def _streaming_from_own_server(videos: dict[str, Path]) -> Iterator[tuple[Any, Any, Recorder]]:
    """A source streaming from an RTSP server of its own (which the test may kill)."""
    server = RtspServer(videos["small"])
    source = create_source(SourceConfig(kind="rtsp", url=server.url()))
    recorder = Recorder()
    source.add_listener(recorder)
    try:
        source.start()
        source.wait_ready(10)
        yield server.process, source, recorder
    finally:
        assert source.stop()
        server.stop()


def test_rtsp_server_dies_mid_stream(videos: dict[str, Path]) -> None:
    with _streaming_from_own_server(videos) as (process, source, recorder):
        process.kill()
        process.wait(5)
        recorder.wait_for(SourceState.FAILED, 5)
        assert source.stats.last_error_kind is ErrorKind.CANNOT_CONNECT


def test_file_plays_to_its_end(videos: dict[str, Path]) -> None:
    source = create_source(SourceConfig(kind="file", url=str(videos["small"])))
    recorder = Recorder()
    source.add_listener(recorder)
    source.start()
    recorder.wait_for(SourceState.FAILED, 20)
    assert source.stop()
    assert source.stats.frames == 400
    assert source.stats.last_error == "stream ended"


def test_undecodable_h264(tmp_path: Path, videos: dict[str, Path]) -> None:
    """An MP4 whose H.264 packets are noise: NO_VIDEO, not a crash or a hang."""
    rng = np.random.default_rng(11)
    path = tmp_path / "noise.mp4"
    with av.open(str(videos["small"])) as source, av.open(str(path), "w") as out:
        template = source.streams.video[0]
        stream = out.add_stream_from_template(template)
        for index, packet in enumerate(source.demux(template)):
            if packet.size == 0 or index >= 300:
                continue
            noise = av.Packet(rng.bytes(packet.size))
            noise.pts, noise.dts, noise.time_base = packet.pts, packet.dts, packet.time_base
            noise.stream = stream
            out.mux(noise)
    with pytest.raises(SourceError) as err:
        probe(SourceConfig(kind="file", url=str(path)))
    assert err.value.kind is ErrorKind.NO_VIDEO


def _parts(stream: bytes, boundary: bytes = b"b") -> list[bytes]:
    out = []
    try:
        for part in iter_parts(io.BytesIO(stream), boundary):
            out.append(part)
    except EOFError:
        pass
    return out


def test_multipart_parser_variants() -> None:
    # Preamble lines, no dashes on the boundary, a part without length.
    stream = b"junk\r\n\r\nb\r\nContent-Type: image/jpeg\r\n\r\nAAA\r\n--b\r\n\r\nBB\r\n--b--\r\n"
    assert _parts(stream) == [b"AAA", b"BB"]
    with pytest.raises(SourceError, match="bad Content-Length"):
        _parts(b"--b\r\nContent-Length: x\r\n\r\n")
    with pytest.raises(SourceError, match="bad Content-Length"):
        _parts(b"--b\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(SourceError, match="too many part headers"):
        _parts(b"--b\r\n" + b"X-A: 1\r\n" * 100)
    with pytest.raises(SourceError, match="no multipart boundary"):
        _parts(b"noise\r\n" * 300)
    big_line = b"x" * 65536
    with pytest.raises(SourceError, match="too large"):
        _parts(b"--b\r\n\r\n" + big_line * (MAX_PART_BYTES // 65536 + 2))
    # Truncated part with a length: ends the stream.
    assert _parts(b"--b\r\nContent-Length: 10\r\n\r\nabc") == []


def test_http_errors_are_classified(http_camera: HttpCamera) -> None:
    cases = {
        "not-a-url": ErrorKind.INVALID_URL,
    }
    for url, kind in cases.items():
        with pytest.raises(SourceError) as err:
            probe(SourceConfig(kind="file", url=url, connect_timeout=1))
        assert err.value.kind in (kind, ErrorKind.CANNOT_CONNECT, ErrorKind.NO_VIDEO)
    # A multipart Content-Type without a boundary is not a stream we can read.
    from custom_components.privacy_cam.engine.sources.http_sources import _boundary

    assert _boundary("multipart/x-mixed-replace") is None
    assert _boundary('multipart/x-mixed-replace; boundary="--abc"') == b"abc"


def test_rtsp_camera_freezes_mid_stream(videos: dict[str, Path]) -> None:
    """The connection stays open but no packet comes: a stall, reported within ~1.5 s."""
    import signal

    with _streaming_from_own_server(videos) as (process, source, recorder):
        process.send_signal(signal.SIGSTOP)
        try:
            recorder.wait_for(SourceState.FAILED, 6)
            assert source.stats.last_error is not None
            assert source.stats.last_error.startswith("lost the stream")
            assert source.stats.last_error_kind is ErrorKind.CANNOT_CONNECT
        finally:
            process.send_signal(signal.SIGCONT)  # so the reconnect does not hang the stop


def test_rtsp_transport_options() -> None:
    from custom_components.privacy_cam.engine.sources.av_source import AvSource

    tcp = AvSource(SourceConfig(kind="rtsp", url="rtsp://cam/x"))
    assert tcp._open_options()["rtsp_transport"] == "tcp"
    udp = AvSource(SourceConfig(kind="rtsp", url="rtsp://cam/x", rtsp_transport="udp"))
    assert udp._open_options()["rtsp_transport"] == "udp"
    assert "rtsp_flags" not in udp._open_options()
    assert "rtsp_transport" not in AvSource(SourceConfig(kind="file", url="/x"))._open_options()


def test_snapshot_cut_off_mid_image(http_camera: HttpCamera) -> None:
    with pytest.raises(SourceError) as err:
        probe(SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_truncated")))
    assert err.value.kind in (ErrorKind.CANNOT_CONNECT, ErrorKind.NO_VIDEO)


def test_stop_while_mjpeg_camera_hangs(http_camera: HttpCamera) -> None:
    """Blocked in a read on a frozen camera: stop() still returns at once."""
    source = create_source(SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg_hang")))
    source.start()
    source.wait_ready(5)
    time.sleep(0.3)  # now blocked waiting for the next part
    started = time.monotonic()
    assert source.stop()
    assert time.monotonic() - started < 0.5
    assert source.stats.reconnects == 0  # stopping is not a failure
