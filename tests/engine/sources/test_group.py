"""A keyframes-only source's group of pictures, decoded in full when asked (`Group`).

Real packets of numbered H.264/H.265 files (each frame shows its number), fed as a
source feeds them, with its arrival times.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.sources import group as group_module
from custom_components.privacy_cam.engine.sources.group import Group
from custom_components.privacy_cam.engine.sources.jpeg import MAX_SIDE

from ...peers.videos import make_numbered, read_number

GOP = 10


def _packets(path: Path) -> tuple[list[Any], str, bytes | None]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        return packets, stream.codec_context.name, stream.codec_context.extradata


@pytest.fixture(scope="module", params=["libx264", "libx265"])
def numbered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("group")
    return make_numbered(folder / "numbered.mp4", seconds=4.0, gop=GOP, encoder=request.param)


def _feed(group: Group, packets: list[Any], first: int, last: int) -> list[tuple[int, float]]:
    """Packets first..last (arriving at their index); the burst's frames: number, time."""
    out = []
    for index in range(first, last + 1):
        packet = packets[index]
        for frame, arrived in group.add(packet, packet.is_keyframe, float(index)):
            out.append((read_number(frame), arrived))
    return out


def test_a_burst_decodes_the_rest_of_the_keyframes_group(numbered: Path) -> None:
    packets, codec, extradata = _packets(numbered)
    assert [i for i, p in enumerate(packets) if p.is_keyframe][:3] == [0, GOP, 2 * GOP]
    group = Group(codec, extradata)
    assert _feed(group, packets, 0, 13) == []  # nothing asked: nothing decoded
    group.want(10.0)  # the keyframe that arrived at 10
    # From the keyframe's next frame on, caught up at once, then one a packet.
    assert _feed(group, packets, 14, 14) == [(n, float(n)) for n in range(11, 15)]
    assert _feed(group, packets, 15, 19) == [(n, float(n)) for n in range(15, 20)]
    # The next keyframe ends it.
    assert _feed(group, packets, 20, 25) == []
    assert group.bursts == 1


def test_a_request_for_a_group_that_ended_is_ignored(numbered: Path) -> None:
    packets, codec, extradata = _packets(numbered)
    group = Group(codec, extradata)
    _feed(group, packets, 0, 11)
    group.want(0.0)  # the motion thread was slow: keyframe 10 came meanwhile
    assert _feed(group, packets, 12, 19) == []
    group.want(10.0)
    group.reset()  # decoding paused: packets left out
    assert _feed(group, packets, 12, 19) == []
    assert _feed(group, packets, 20, 25) == []  # nor the next group
    assert group.bursts == 0


def test_a_group_too_long_to_keep_is_not_decoded(
    numbered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_module, "MAX_GROUP_PACKETS", 4)
    packets, codec, extradata = _packets(numbered)
    group = Group(codec, extradata)
    _feed(group, packets, 0, 2)
    group.want(0.0)
    assert [n for n, _ in _feed(group, packets, 3, 3)] == [1, 2, 3]
    assert _feed(group, packets, 4, 9) == []  # over the cap: dropped, burst and all
    group.want(10.0)
    assert _feed(group, packets, 10, 11) == [(11, 11.0)]


def test_a_group_too_big_to_keep_is_not_decoded(
    numbered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A camera sending huge pictures cannot make the group hold more than the cap."""
    packets, codec, extradata = _packets(numbered)
    cap = sum(p.size for p in packets[:3])
    monkeypatch.setattr(group_module, "MAX_GROUP_BYTES", cap)
    group = Group(codec, extradata)
    _feed(group, packets, 0, 1)
    group.want(0.0)
    assert [n for n, _ in _feed(group, packets, 2, 2)] == [1, 2]
    assert _feed(group, packets, 3, 9) == []  # over the cap: dropped, burst and all
    assert group._packets is None


def test_a_codec_ffmpeg_cannot_decode_gives_no_burst(numbered: Path) -> None:
    packets, _, extradata = _packets(numbered)
    group = Group("no_such_codec", extradata)
    _feed(group, packets, 0, 2)
    group.want(0.0)
    assert _feed(group, packets, 3, 9) == []
    assert group.bursts == 0


def _annexb(path: Path, width: int, height: int, frames: int) -> list[Any]:
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=Fraction(10, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "bframes": "0"}
        for index in range(frames):
            luma = np.full((height, width), 50 + 10 * index, np.uint8)
            frame = av.VideoFrame.from_ndarray(luma, format="gray").reformat(format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        return [p for p in container.demux(video=0) if p.size]


def test_a_picture_too_large_in_the_middle_of_a_group_ends_the_burst(tmp_path: Path) -> None:
    """A hostile camera whose keyframe passed the size check sends, flagged as an ordinary
    frame, a new picture wider than any camera's: the burst stops there."""
    small = _annexb(tmp_path / "small.h264", 64, 48, 4)
    wide = _annexb(tmp_path / "wide.h264", MAX_SIDE + 8, 16, 1)
    group = Group("h264", None)
    assert group.add(small[0], True, 0.0) == []
    group.want(0.0)
    assert len(group.add(small[1], False, 1.0)) == 1
    assert group.add(wide[0], False, 2.0) == []  # decoded, refused
    assert group.add(small[2], False, 3.0) == []  # nothing decodes until a keyframe


def test_a_big_picture_keeps_ffmpegs_threads(numbered: Path) -> None:
    """(A 4K main stream decoded keyframes only.) Frame threads hand frames out a few
    packets late, each with its own packet's arrival; the last ones when the next
    keyframe ends the group."""
    packets, codec, extradata = _packets(numbered)
    group = Group(codec, extradata, single_thread=False)
    _feed(group, packets, 0, 10)
    group.want(10.0)
    out = _feed(group, packets, 11, 19)
    assert len(out) <= 9 and out == [(n, float(n)) for n in range(11, 11 + len(out))]
    assert out + _feed(group, packets, 20, 20) == [(n, float(n)) for n in range(11, 20)]
