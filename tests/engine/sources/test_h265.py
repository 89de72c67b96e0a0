"""H.265 cameras: Annex B packets from RTSP and MP4 (hvcC), remuxed clips, shared as H.264."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.recording.clipwriter import remux_packets
from custom_components.privacy_cam.engine.sharing.package import Redaction, build_package
from custom_components.privacy_cam.engine.sources.av_source import RECORDED_CODECS, hvcc_to_annexb
from custom_components.privacy_cam.engine.sources.frames import EncodedPacket
from custom_components.privacy_cam.engine.sources.source import Source

from ...conftest import wait_until
from ...peers.rtsp import rtsp_server
from ...peers.videos import make_h264, read_packets

START = b"\x00\x00\x00\x01"
VPS, SPS, PPS = 32, 33, 34  # H.265 NAL unit types


@pytest.fixture(scope="module")
def h265_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("h265") / "h265.mp4"
    return make_h264(path, seconds=3, fps=10, gop=10, encoder="libx265")


def _nal_types(annexb: bytes) -> list[int]:
    return [(unit[0] >> 1) & 0x3F for unit in annexb.split(START)[1:] if unit]


def test_an_mp4_h265_file_is_handed_on_as_annex_b(h265_video: Path) -> None:
    """A replayed MP4 stores parameter sets in an hvcC record and length-prefixed
    packets: the source turns both into Annex B, like an RTSP camera sends."""
    assert "hevc" in RECORDED_CODECS
    packets, info = read_packets(h265_video, 15)
    assert info.codec == "hevc" and info.extradata is not None
    assert _nal_types(info.extradata)[:3] == [VPS, SPS, PPS]
    assert all(packet.data.startswith(START) for packet in packets)
    assert packets[0].is_keyframe and packets[10].is_keyframe and not packets[1].is_keyframe
    with av.open(str(h265_video)) as container:
        record = container.streams.video[0].codec_context.extradata
    assert record[0] == 1 and hvcc_to_annexb(record) == info.extradata


def test_a_broken_hvcc_record_gives_nothing(h265_video: Path) -> None:
    """A record cut anywhere (a hostile or broken file) yields no parameter sets, never
    an exception or half a set."""
    with av.open(str(h265_video)) as container:
        record = bytes(container.streams.video[0].codec_context.extradata)
    whole = hvcc_to_annexb(record)
    assert whole
    for cut in range(len(record)):
        assert hvcc_to_annexb(record[:cut]) in (b"", whole)
    assert hvcc_to_annexb(record[:-1]) == b""


def test_an_h265_rtsp_camera_is_recorded_as_sent_and_shows_its_keyframe(
    h265_video: Path,
) -> None:
    """Demuxing only (a main stream beside a substream): packets as Annex B, nothing
    decoded, and a still from the latest keyframe on demand."""
    received: list[EncodedPacket] = []
    with rtsp_server(h265_video) as server:
        source = create_source(SourceConfig(kind="rtsp", url=server.url(), decode=False))
        source.add_packet_callback(received.append)
        source.start()
        try:
            source.wait_ready(10)
            wait_until(lambda: len(received) > 12, 10)
            still = source.still_jpeg()
        finally:
            source.stop()
    assert source.stats.codec == "hevc" and source.stats.decoded_frames == 0
    assert source.info is not None and (source.info.width, source.info.height) == (320, 240)
    assert _nal_types(source.info.extradata or b"")[:3] == [VPS, SPS, PPS]
    assert still is not None and still.startswith(b"\xff\xd8")  # its keyframe, decoded
    keyframes = [p for p in received if p.is_keyframe]
    assert keyframes and all(p.data.startswith(START) for p in received)


def test_an_h265_clip_is_remuxed_and_shared_as_h264(h265_video: Path, tmp_path: Path) -> None:
    """The clip keeps the camera's H.265 ('hvc1'); a report re-encodes it as H.264, the
    format every receiver plays."""
    packets, info = read_packets(h265_video, 30)
    clip = tmp_path / "clip.mp4"
    assert remux_packets(packets, info, clip) == pytest.approx(3.0, abs=0.15)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_tag) == ("hevc", "hvc1")
        assert len(list(container.decode(stream))) == 30
    package = build_package(clip, tmp_path / "report.mp4", None, Redaction(), None)
    assert package.frames == 30 and (package.width, package.height) == (320, 240)
    with av.open(str(package.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def _broken_record(video: Path, tmp_path: Path, name: str, offset: int, change: int) -> Path:
    """The video with one byte of its hvcC record changed by `change`."""
    data = bytearray(video.read_bytes())
    at = data.find(b"hvcC") + 4 + offset
    data[at] = (data[at] + change) % 256
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(bytes(data))
    return path


def _play(video: Path) -> tuple[Source, list[EncodedPacket]]:
    source = create_source(SourceConfig(kind="file", url=str(video)))
    packets: list[EncodedPacket] = []
    source.add_packet_callback(packets.append)
    source.start()
    try:
        wait_until(lambda: source.stats.last_error is not None, 10)  # played to its end
    finally:
        source.stop()
    return source, packets


def test_an_hvcc_record_ffmpeg_cannot_convert_is_still_watched(
    h265_video: Path, tmp_path: Path
) -> None:
    """One array too many: FFmpeg's decoder copes, its Annex B filter refuses. The camera
    is watched (not recorded) rather than failing as "not a video"."""
    source, packets = _play(_broken_record(h265_video, tmp_path, "arrays", 22, 1))
    assert source.stats.decoded_frames == 30 and packets == []


def test_an_hvcc_record_of_version_0_is_converted(h265_video: Path, tmp_path: Path) -> None:
    """Annex B is told by its start code, not by the record's version byte (FFmpeg's
    decoder reads a version-0 record as hvcC too)."""
    source, packets = _play(_broken_record(h265_video, tmp_path, "version0", 0, -1))
    assert source.stats.decoded_frames == 30 and len(packets) == 30
    assert all(packet.data.startswith(START) for packet in packets)
    assert source.info is not None
    assert remux_packets(packets, source.info, tmp_path / "clip.mp4") == pytest.approx(3.0)


def test_a_stream_in_another_codec_is_watched_and_says_it_is_not_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """MPEG-4 part 2 (old cameras): decoded for detection, not recorded, and the log says
    so once."""
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(20):
            frame = av.VideoFrame(320, 240, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 10]) * plane.buffer_size)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    source = create_source(SourceConfig(kind="file", url=str(path)))
    packets: list[EncodedPacket] = []
    source.add_packet_callback(packets.append)
    for _ in range(2):  # two sessions (a reconnect): said once
        source.start()
        try:
            wait_until(lambda: source.stats.last_error is not None, 10)
        finally:
            source.stop()
    assert source.stats.codec == "mpeg4" and source.stats.decoded_frames > 0 and packets == []
    warnings = [
        r.getMessage()
        for r in caplog.records
        if "only H.264 and H.265 are recorded" in r.getMessage()
    ]
    assert len(warnings) == 1 and "mpeg4" in warnings[0]
