"""Hostile or broken cameras, and errors that say what really happened."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine import (
    ErrorKind,
    SourceConfig,
    SourceError,
    create_source,
    probe,
)
from custom_components.privacy_cam.engine.sources.jpeg import (
    MAX_PIXELS,
    MAX_SIDE,
    PNG_SIGNATURE,
    ImageDecoder,
    png_size,
)

from ...conftest import wait_until
from ...peers.http_camera import HttpCamera, with_declared_size


def _probe_error(config: SourceConfig, timeout: float = 10.0) -> SourceError:
    with pytest.raises(SourceError) as err:
        probe(config, timeout)
    return err.value


# Errors that tell the truth ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("kind", "scheme"), [("mjpeg", "http"), ("rtsp", "rtsp")])
def test_refused_port_says_refused_at_once(kind: str, scheme: str) -> None:
    started = time.monotonic()
    error = _probe_error(SourceConfig(kind=kind, url=f"{scheme}://127.0.0.1:{_free_port()}/x"))
    assert error.kind is ErrorKind.CONNECTION_REFUSED
    assert time.monotonic() - started < 2


def test_endless_multipart_part_is_not_cannot_connect(http_camera: HttpCamera) -> None:
    """It answered and streams bytes, but a frame never ends: say exactly that."""
    error = _probe_error(SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg_endless")), 2)
    assert error.kind is ErrorKind.NO_FRAME
    assert "answered" in error.message


def test_nothing_answers_in_time() -> None:
    """wait_ready gives up before the connect did: nothing has answered yet."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = [socket.socket() for _ in range(4)]
    for client in fillers:
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
    try:
        config = SourceConfig(kind="mjpeg", url=f"http://127.0.0.1:{port}/x", connect_timeout=1.5)
        error = _probe_error(config, 0.5)
        assert error.kind is ErrorKind.NO_ANSWER
    finally:
        for client in fillers:
            client.close()
        server.close()


# Redirects --------------------------------------------------------------------------


def test_redirect_on_the_same_host_is_followed(http_camera: HttpCamera) -> None:
    assert probe(SourceConfig(kind="mjpeg", url=http_camera.url("/redirect_same"))).width == 320


def test_redirect_to_another_host_is_refused(http_camera: HttpCamera) -> None:
    before = http_camera.hits.count("/mjpeg")
    error = _probe_error(SourceConfig(kind="mjpeg", url=http_camera.url("/redirect_other")))
    assert error.kind is ErrorKind.REDIRECTED
    assert http_camera.hits.count("/mjpeg") == before  # never followed


# Pictures ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/snapshot_huge", "/snapshot_40mp"])
def test_oversized_picture_refused_before_decoding_counted_logged_once(
    http_camera: HttpCamera, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = create_source(
        SourceConfig(kind="snapshot", url=http_camera.url(path), backoff_min=0.05, backoff_max=0.1)
    )
    source.start()
    try:
        wait_until(lambda: source.stats.oversized >= 3, 10)
    finally:
        assert source.stop()
    assert source.info is None  # nothing was decoded
    assert source.stats.last_error_kind is ErrorKind.NO_VIDEO
    assert "too large" in (source.stats.last_error or "")
    warnings = [r for r in caplog.records if "Refused camera data" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_size_limits_from_headers(http_camera: HttpCamera) -> None:
    jpeg = http_camera.frames[0]
    decoder = ImageDecoder()
    try:  # at the limit: handed to the decoder (which may find the data short)
        decoder.decode(with_declared_size(jpeg, MAX_SIDE, 1000))
    except SourceError as err:
        assert "too large" not in err.message
    for width, height in ((MAX_SIDE + 1, 16), (16, MAX_SIDE + 1), (8000, MAX_PIXELS // 8000 + 1)):
        with pytest.raises(SourceError, match="too large"):
            decoder.decode(with_declared_size(jpeg, width, height))
    assert png_size(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20) is None


def test_a_header_the_size_check_cannot_read_is_refused(http_camera: HttpCamera) -> None:
    """FFmpeg skips junk after the JPEG start and honours a later frame header: a picture
    whose header we cannot read, or with a second, larger header, is never decoded."""
    jpeg = http_camera.frames[0]
    decoder = ImageDecoder()
    assert decoder.decode(jpeg).width == 320
    with pytest.raises(SourceError, match="not a decodable JPEG"):
        decoder.decode(jpeg[:2] + b"\x00" + jpeg[2:])
    # A second SOF segment claiming 9000 px, before the scan.
    sof = b"\xff\xc0\x00\x11\x08" + (9000).to_bytes(2, "big") * 2 + b"\x03" + b"\x01\x22\x00" * 3
    with pytest.raises(SourceError, match="too large"):
        decoder.decode(jpeg[:2] + sof + jpeg[2:])


def test_only_jpeg_and_png_are_decoded(http_camera: HttpCamera) -> None:
    png = probe(SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_png")))
    assert (png.width, png.height) == (320, 240)
    # FFmpeg would happily decode a GIF if it were let to guess the format.
    error = _probe_error(SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_gif")))
    assert error.kind is ErrorKind.NO_VIDEO
    assert "JPEG or PNG" in error.message


def test_oversized_multipart_part_is_capped_and_counted(http_camera: HttpCamera) -> None:
    source = create_source(SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg_huge_part")))
    source.start()
    try:
        # The count comes as the part is refused, the error once the session ends.
        wait_until(lambda: "too large" in (source.stats.last_error or ""), 10)
    finally:
        assert source.stop()
    assert source.stats.as_dict()["oversized"] >= 1


def test_broken_png_is_no_video() -> None:
    header = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + (64).to_bytes(4, "big") * 2
    for body in (header + b"\x08\x02\x00\x00\x00" + bytes(40), header):
        with pytest.raises(SourceError, match="PNG") as err:
            ImageDecoder().decode(body)
        assert err.value.kind is ErrorKind.NO_VIDEO


def test_oversized_snapshot_body_is_capped(http_camera: HttpCamera) -> None:
    error = _probe_error(SourceConfig(kind="snapshot", url=http_camera.url("/snapshot_bloated")))
    assert error.kind is ErrorKind.NO_VIDEO
    assert "too large" in error.message


def test_mjpeg_stall_after_frames_is_a_lost_stream(http_camera: HttpCamera) -> None:
    """It streamed, then went silent: not "accepted but sent nothing"."""
    source = create_source(
        SourceConfig(kind="mjpeg", url=http_camera.url("/mjpeg_hang"), connect_timeout=0.5)
    )
    source.start()
    try:
        wait_until(lambda: source.stats.reconnects >= 1, 10)
    finally:
        assert source.stop()
    assert source.stats.last_error_kind is ErrorKind.CANNOT_CONNECT
    assert (source.stats.last_error or "").startswith("lost the stream")


def test_oversized_video_refused_before_decoding(tmp_path: Path) -> None:
    """A stream whose headers declare more than 8192 pixels a side."""
    import av
    import numpy as np

    path = tmp_path / "wide.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = MAX_SIDE + 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, MAX_SIDE + 16, 3), np.uint8), "rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    source = create_source(SourceConfig(kind="file", url=str(path)))
    source.start()
    try:
        # (counted as the session refuses it; the error is recorded just after)
        wait_until(lambda: source.stats.oversized >= 1 and source.stats.last_error, 10)
    finally:
        assert source.stop()
    assert source.stats.frames == 0
    assert "too large" in (source.stats.last_error or "")
