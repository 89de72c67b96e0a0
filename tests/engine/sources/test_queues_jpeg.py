"""The bounded queue and the PyAV JPEG helpers."""

import threading

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.sources.errors import ErrorKind, SourceError
from custom_components.privacy_cam.engine.sources.frames import analysis_size, to_analysis_gray
from custom_components.privacy_cam.engine.sources.jpeg import ImageDecoder, encode_jpeg, jpeg_size
from custom_components.privacy_cam.engine.sources.queues import DropOldestQueue


def test_queue_drops_oldest_and_counts() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(2)
    for item in range(5):
        queue.put(item)
    assert len(queue) == 2 and queue.dropped == 3
    assert queue.get(0) == 3 and queue.get(0) == 4
    assert queue.get(0.01) is None
    queue.put(9)
    queue.clear()
    assert len(queue) == 0
    with pytest.raises(ValueError):
        DropOldestQueue(0)


def test_queue_wakes_waiting_consumer() -> None:
    queue: DropOldestQueue[str] = DropOldestQueue(1)
    timer = threading.Timer(0.05, queue.put, args=("frame",))
    timer.start()
    assert queue.get(2) == "frame"
    timer.join()


def _frame(width: int = 640, height: int = 480) -> av.VideoFrame:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width // 2] = 255
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def test_jpeg_round_trip_and_scaling() -> None:
    data = encode_jpeg(_frame(), width=321)
    assert jpeg_size(data) == (320, 240)
    frame = ImageDecoder().decode(data)
    assert (frame.width, frame.height) == (320, 240)
    small = ImageDecoder(lowres=2).decode(encode_jpeg(_frame()))
    assert (small.width, small.height) == (160, 120)
    assert jpeg_size(encode_jpeg(_frame(), width=2000)) == (640, 480)


def test_decoder_png_and_garbage() -> None:
    import io

    image = _frame(64, 48).to_image()
    png = io.BytesIO()
    image.save(png, format="PNG")
    assert ImageDecoder().decode(png.getvalue()).width == 64
    decoder = ImageDecoder()
    for bad in (b"", b"\xff\xd8\x00garbage", b"GIF89a-not-really", b"\x89PNG\r\n\x1a\n"):
        with pytest.raises(SourceError) as err:
            decoder.decode(bad)
        assert err.value.kind is ErrorKind.NO_VIDEO
    # The decoder recovers after garbage.
    assert decoder.decode(encode_jpeg(_frame())).width == 640
    assert jpeg_size(b"\xff\xd8\x00\x00") is None
    assert jpeg_size(b"\xff\xd8" + b"\xff\xff" + b"\xff\xe0\x00\x04ab" + b"\x00" * 10) is None


def test_analysis_gray_size_and_values() -> None:
    assert analysis_size(1920, 1080, 180) == (320, 180)
    assert analysis_size(161, 121, 180) == (160, 120)
    assert analysis_size(1000, 3, 2) == (666, 2)
    gray = to_analysis_gray(_frame(1920, 1080).reformat(format="yuv420p"), 180)
    assert gray.shape == (180, 320) and gray.dtype == np.uint8
    assert gray[:, :100].mean() > 200 and gray[:, 220:].mean() < 30
