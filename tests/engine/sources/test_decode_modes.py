"""Decode modes against a real RTSP camera with a main stream and a substream.

The peer (gst-rtsp-server) serves two mounts of one scene, as a camera does:
`/main` 640x360 and `/sub` 320x180, both 10 fps with a keyframe every 2 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import pytest_socket

from custom_components.privacy_cam.engine import SourceConfig, SourceState, create_source
from custom_components.privacy_cam.engine.sources.av_source import (
    AvSource,
    Keyframe,
    decode_keyframe,
)
from custom_components.privacy_cam.engine.sources.frames import AnalysisFrame, EncodedPacket
from custom_components.privacy_cam.engine.sources.jpeg import jpeg_size
from custom_components.privacy_cam.engine.sources.source import Source, SourceStats

from ...conftest import wait_until
from ...peers.rtsp import RtspServer
from ...peers.videos import BITS, BLOCK, make_numbered
from .test_sources import Recorder

FPS = 10
GOP_SECONDS = 2.0
MAIN = (640, 360)
SUB = (320, 180)


def make_scene_pair(folder: Path, seconds: float = 40.0) -> tuple[Path, Path]:
    """One scene (texture, a square sliding across) encoded at two sizes, like a
    camera's main stream and substream: same GOP, same frame times."""
    rng = np.random.default_rng(11)
    width, height = MAIN
    background = rng.integers(40, 200, (height, width), dtype=np.uint8)
    paths = (folder / "main.mp4", folder / "sub.mp4")
    outputs = [av.open(str(path), "w") for path in paths]
    streams = []
    for output, (w, h) in zip(outputs, (MAIN, SUB), strict=True):
        stream = output.add_stream("libx264", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        gop = str(int(FPS * GOP_SECONDS))
        stream.codec_context.gop_size = int(gop)
        stream.options = {"preset": "ultrafast", "bframes": "0", "keyint_min": gop}
        streams.append(stream)
    size = height // 5
    for index in range(int(seconds * FPS)):
        luma = background.copy()
        x = (index * 6) % (width - size)
        luma[height // 3 : height // 3 + size, x : x + size] = 250
        big = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
        for output, stream, (w, h) in zip(outputs, streams, (MAIN, SUB), strict=True):
            frame = big if (w, h) == MAIN else big.reformat(width=w, height=h)
            frame.pts = index
            for packet in stream.encode(frame):
                output.mux(packet)
    for output, stream in zip(outputs, streams, strict=True):
        for packet in stream.encode():
            output.mux(packet)
        output.close()
    return paths


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """An RTSP camera with two mounts: /main and /sub (also at the default /cam)."""
    pytest_socket.enable_socket()  # module fixtures start before socket_enabled
    main, sub = make_scene_pair(tmp_path_factory.mktemp("scene"))
    server = RtspServer(main, f"/main={main}", f"/sub={sub}")
    try:
        yield server
    finally:
        server.stop()


def _frames(source: Source) -> list[AnalysisFrame]:
    frames: list[AnalysisFrame] = []
    source.add_frame_callback(frames.append)
    return frames


def test_demux_only_streams_packets_and_stills(camera: RtspServer) -> None:
    source = create_source(SourceConfig(kind="rtsp", url=camera.url("/main"), decode=False))
    assert isinstance(source, AvSource) and not source.decoding
    frames = _frames(source)
    packets: list[EncodedPacket] = []
    source.add_packet_callback(packets.append)
    recorder = Recorder()
    source.add_listener(recorder)
    assert source.still_jpeg() is None
    source.start()
    try:
        info = source.wait_ready(10)
        # The stream's info from its headers, enough to remux.
        assert (info.codec, info.width, info.height) == ("h264", *MAIN)
        assert info.extradata and info.time_base is not None
        assert info.fps == pytest.approx(FPS, abs=0.5)
        assert source.state is SourceState.STREAMING
        wait_until(lambda: source.stats.keyframe_interval is not None, 8)
        still = source.still_jpeg()
        assert still is not None and jpeg_size(still) == MAIN
        assert source.still_jpeg() is still  # the same keyframe is decoded once
        small = source.still_jpeg(width=320)
        assert small is not None and jpeg_size(small) == SUB
        time.sleep(1.0)
    finally:
        assert source.stop()
    stats = source.stats
    assert stats.decoded_frames == 0 and stats.analysis_frames == 0 and not frames
    assert stats.frames >= 2 * FPS and stats.frames == len(packets)
    assert stats.fps is not None and 5 < stats.fps < 20  # (counting the start-up burst)
    assert packets[0].is_keyframe and any(not p.is_keyframe for p in packets)
    assert stats.keyframe_interval == pytest.approx(GOP_SECONDS, abs=0.15)
    as_dict = stats.as_dict()
    assert as_dict["decoded_frames"] == 0
    assert as_dict["keyframe_interval"] == pytest.approx(GOP_SECONDS, abs=0.15)
    assert (SourceState.STREAMING, None) in recorder.states
    assert source.still_jpeg() is None  # stopped: no stale still


def test_set_decode_starts_at_the_next_keyframe_and_stops_again(camera: RtspServer) -> None:
    source = create_source(SourceConfig(kind="rtsp", url=camera.url("/main"), decode=False))
    frames = _frames(source)
    decoded: list[tuple[bool, float]] = []
    emit = source._emit_frame

    def spy(frame: Any, now: float, jpeg: bytes | None = None, *, counted: bool = False) -> None:
        decoded.append((frame.key_frame, now))
        emit(frame, now, jpeg, counted=counted)

    source._emit_frame = spy  # type: ignore[method-assign]
    source.start()
    try:
        source.wait_ready(10)
        time.sleep(0.5)  # mid-GOP, most likely
        assert source.stats.decoded_frames == 0
        switched = time.monotonic()
        source.set_decode(True)
        assert source.decoding
        wait_until(lambda: len(frames) >= 3, GOP_SECONDS + 5)
        # The decoder started at a keyframe (no broken frames before it), within a GOP.
        assert decoded[0][0]
        assert decoded[0][1] - switched <= GOP_SECONDS + 1.0
        assert frames[0].gray.shape == (120, 212)
        still = source.still_jpeg()
        assert still is not None and jpeg_size(still) == MAIN
        source.set_decode(False)
        time.sleep(0.3)
        count = source.stats.decoded_frames
        time.sleep(0.7)
        assert source.stats.decoded_frames == count  # stopped decoding
        packets = source.stats.frames
        wait_until(lambda: source.stats.frames > packets, 3)  # still streaming
        assert source.state is SourceState.STREAMING
        still = source.still_jpeg()  # from the latest keyframe again
        assert still is not None and jpeg_size(still) == MAIN
    finally:
        assert source.stop()


def test_keyframes_only_decodes_only_keyframes(camera: RtspServer) -> None:
    config = SourceConfig(kind="rtsp", url=camera.url("/sub"), keyframes_only=True)
    source = create_source(config)
    frames = _frames(source)
    source.start()
    try:
        source.wait_ready(10)
        # Out at once (low delay), not held back until the next keyframe arrives (a GOP,
        # 20 packets, later); a loaded machine may let a few more packets in meanwhile.
        assert source.stats.frames <= 0.75 * GOP_SECONDS * FPS
        started = time.monotonic()
        time.sleep(4.5)
        elapsed = time.monotonic() - started
    finally:
        assert source.stop()
    stats = source.stats
    keyframes = elapsed / GOP_SECONDS
    assert keyframes - 1 <= stats.decoded_frames <= keyframes + 2
    assert stats.frames >= elapsed * FPS * 0.8  # every packet still arrives
    assert stats.fps is not None and 5 < stats.fps < 20  # the stream's rate, not the decoder's
    # Every keyframe is analysed: they come slower than the analysis rate.
    assert len(frames) == stats.analysis_frames == stats.decoded_frames
    assert frames[0].gray.shape == (120, 212)
    assert stats.keyframe_interval == pytest.approx(GOP_SECONDS, abs=0.15)


def test_main_and_substream_side_by_side(camera: RtspServer) -> None:
    """What a camera with a detection stream runs: the main stream demuxed only,
    the substream decoded for analysis."""
    main = create_source(SourceConfig(kind="rtsp", url=camera.url("/main"), decode=False))
    sub = create_source(SourceConfig(kind="rtsp", url=camera.url("/sub")))
    packets: list[EncodedPacket] = []
    main.add_packet_callback(packets.append)
    analysis = _frames(sub)
    main.start()
    sub.start()
    try:
        assert (main.wait_ready(10).width, sub.wait_ready(10).width) == (MAIN[0], SUB[0])
        wait_until(lambda: len(analysis) >= 5 and len(packets) >= 10, 5)
    finally:
        assert main.stop() and sub.stop()
    assert main.stats.decoded_frames == 0 and sub.stats.decoded_frames >= 5
    assert analysis[0].gray.shape == (120, 212)
    main_still, sub_jpeg = main.still_jpeg(), sub.still_jpeg()
    assert main_still is None and sub_jpeg is None  # both stopped


def test_file_source_demux_only_converts_to_annexb(tmp_path: Path) -> None:
    """A replayed MP4 (avcC) demuxed only: packets and parameter sets as Annex B."""
    main, _ = make_scene_pair(tmp_path, seconds=3)
    source = create_source(SourceConfig(kind="file", url=str(main), decode=False))
    packets: list[EncodedPacket] = []
    source.add_packet_callback(packets.append)
    source.start()
    try:
        info = source.wait_ready(5)
        wait_until(lambda: source.state is not SourceState.STREAMING or len(packets) >= 30, 5)
        still = source.still_jpeg(width=160)
    finally:
        source.stop()
    assert info.extradata is not None and info.extradata.startswith(b"\x00\x00\x00\x01")
    assert packets[0].data.startswith(b"\x00\x00\x00\x01")
    assert still is not None and jpeg_size(still) == (160, 90)
    assert source.stats.decoded_frames == 0


def test_decode_keyframe_refuses_garbage() -> None:
    assert decode_keyframe(Keyframe(1, "h264", None, b"\x00\x00\x00\x01garbage")) is None
    assert decode_keyframe(Keyframe(1, "no-such-codec", None, b"")) is None


def test_keyframe_interval_is_a_median() -> None:
    source = Source(SourceConfig(kind="demo"))
    for at in (0.0, 2.0, 4.0, 4.5, 6.5, 8.5):  # one early keyframe (a scene cut)
        source._note_keyframe(at, 0.0)
    assert source.stats.keyframe_interval == 2.0
    source._note_keyframe(1.0, 0.0)  # clock went back (a new session): no interval
    assert source.stats.keyframe_interval == 2.0
    source._keyframe_at = None
    source._note_keyframe(None, 100.0)  # no timestamps: arrival times
    source._note_keyframe(None, 102.0)
    assert source.stats.keyframe_interval == 2.0
    assert SourceStats().as_dict()["keyframe_interval"] is None
    # Sources that always decode take set_decode as a no-op wish.
    source.set_decode(False)
    assert not source.decoding


class _Unflagged:
    """A container whose packets carry no keyframe flags (some cameras' streams)."""

    def __init__(self, container: Any) -> None:
        self.real = container
        self.streams = container.streams

    def demux(self, stream: Any) -> Iterator[Any]:
        for packet in self.real.demux(stream):
            packet.is_keyframe = False
            yield packet


def test_decoding_resumes_without_keyframe_flags(videos: dict[str, Path]) -> None:
    """Asked to decode mid-stream, a source waits for a keyframe, but not forever."""
    source = AvSource(SourceConfig(kind="file", url=str(videos["small"]), decode=False))
    seen: list[EncodedPacket] = []

    def on_packet(packet: EncodedPacket) -> None:
        seen.append(packet)
        if len(seen) == 5:
            source.set_decode(True)

    source.add_packet_callback(on_packet)
    with av.open(str(videos["small"])) as container:
        source._stream(_Unflagged(container))
    assert len(seen) == 400
    # 150 packets waited for a keyframe flag, then decoding started anyway.
    assert 200 <= source.stats.decoded_frames <= 250
    assert source.stats.keyframe_interval is None


def test_stream_size_unknown_from_headers(videos: dict[str, Path]) -> None:
    """No size in the headers: decode until a frame tells it, then demux only."""
    source = AvSource(SourceConfig(kind="file", url=str(videos["small"]), decode=False))
    with av.open(str(videos["small"])) as container:
        container.streams.video[0].codec_context.width = 0
        source._stream(container)
    assert source.info is not None and (source.info.width, source.info.height) == (320, 240)
    assert 1 <= source.stats.decoded_frames <= 3
    assert source.stats.frames == 400


def test_still_from_an_undecodable_keyframe() -> None:
    source = AvSource(SourceConfig(kind="file", url="/nonexistent.mp4", decode=False))
    source._keyframe = Keyframe(1, "h264", None, b"\x00\x00\x00\x01\x65garbage")
    assert source.still_jpeg() is None


def test_keyframes_only_decodes_a_group_in_full_when_asked(camera: RtspServer) -> None:
    """A burst: asked at a keyframe (as the motion thread does when it shows something
    new), the rest of its group comes as analysis frames marked `burst`, at the analysis
    rate, up to the next keyframe; then keyframes only again."""
    config = SourceConfig(kind="rtsp", url=camera.url("/sub"), keyframes_only=True)
    source = create_source(config)
    frames: list[AnalysisFrame] = []

    def on_frame(frame: AnalysisFrame) -> None:
        frames.append(frame)
        if not frame.burst and len(frames) == 2:  # the second keyframe
            assert source.request_burst(frame.time)

    source.add_frame_callback(on_frame)
    source.start()
    try:
        source.wait_ready(10)
        wait_until(lambda: len([f for f in frames if not f.burst]) >= 4, 10)
    finally:
        assert source.stop()
    keyframes = [f.time for f in frames if not f.burst]
    bursts = [f.time for f in frames if f.burst]
    # 19 frames between two keyframes (10 fps, 2 s), 5 a second of them analysed.
    assert 8 <= len(bursts) <= 10 and source.stats.burst_frames == 19
    assert keyframes[1] < min(bursts) and max(bursts) < keyframes[2]
    assert bursts == sorted(bursts)
    assert source.stats.bursts == 1
    assert all(f.gray.shape == (120, 212) for f in frames)


def test_a_stream_decoded_in_full_has_no_bursts(camera: RtspServer) -> None:
    every = create_source(SourceConfig(kind="rtsp", url=camera.url("/sub")))
    assert not every.request_burst(0.0)  # not even started
    every.start()
    try:
        every.wait_ready(10)
        assert not every.request_burst(time.monotonic())
    finally:
        assert every.stop()
    assert not create_source(SourceConfig(kind="demo")).request_burst(0.0)


@pytest.mark.parametrize("bframes", [0, 2])
def test_keyframes_only_shows_each_keyframe_at_once(tmp_path: Path, bframes: int) -> None:
    """A stream that may reorder (B-frames) makes the decoder hold pictures back: decoding
    only keyframes, each analysed picture was the keyframe from two keyframes before, and
    dated now (4 s late on a 2-s interval). Each keyframe shows itself."""
    path = make_numbered(tmp_path / "numbered.mp4", seconds=5.0, gop=10, bframes=bframes)
    config = SourceConfig(kind="file", url=str(path), keyframes_only=True, realtime=True)
    source = create_source(config)
    frames = _frames(source)
    started = time.monotonic()
    source.start()
    try:
        wait_until(lambda: len(frames) >= 4, 10)
    finally:
        assert source.stop()
    numbers = [_number(frame.gray) for frame in frames]
    assert numbers[:4] == [0, 10, 20, 30]
    # Each when its keyframe came (one a second), not two keyframes later.
    assert frames[0].time - started < 1.0
    assert all(abs(frames[i].time - frames[0].time - i) < 0.3 for i in range(4))
    assert source.stats.decoded_frames == len(frames)


def _number(gray: np.ndarray) -> int:
    """make_numbered's barcode, read from the analysis picture (full size: 96 rows)."""
    block = BLOCK
    return sum(1 << bit for bit in range(BITS) if gray[block // 2, bit * block + block // 2] > 140)
