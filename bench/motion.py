"""Motion pipeline benchmark: decode-only vs decode + detection + events, per video second."""

from __future__ import annotations

import resource
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from custom_components.privacy_cam.engine.motion.analyse import analyse_video
from custom_components.privacy_cam.engine.motion.detector import HAVE_OPENCV, MotionDetector
from custom_components.privacy_cam.engine.sources.frames import to_analysis_gray

VTEST = Path(__file__).resolve().parent.parent / "tests" / "data" / "vtest.avi"


def camera_like(path: Path, width: int, height: int, fps: int, seconds: float) -> Path:
    """A textured scene with sensor noise and a walker, encoded like a camera (GOP 2 s)."""
    rng = np.random.default_rng(5)
    tile = rng.integers(30, 220, (height // 8, width // 8, 3), dtype=np.uint8)
    background = tile.repeat(8, 0).repeat(8, 1).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = fps * 2
        stream.options = {"preset": "veryfast", "crf": "23", "bframes": "0"}
        for index in range(int(seconds * fps)):
            image = background + rng.normal(0, 3, (height, width, 1)).astype(np.int16)
            x = int((index / fps / seconds) * width)
            image[height // 3 : height // 3 + height // 3, x : x + width // 16] = (200, 40, 40)
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), "rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_only(path: Path) -> tuple[float, float]:
    """CPU seconds to decode every frame; the video's duration."""
    started = time.process_time()
    last = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            last = float(frame.time or 0.0)
    return time.process_time() - started, last


def pipeline(path: Path, use_opencv: bool) -> tuple[float, float]:
    started = time.process_time()
    analysis = analyse_video(path, use_opencv=use_opencv)
    return time.process_time() - started, analysis.duration


def detect_ms(path: Path, use_opencv: bool) -> float:
    """Detection alone, per analysed frame (frames decoded and scaled beforehand)."""
    with av.open(str(path)) as container:
        grays = [to_analysis_gray(f, 120) for f in container.decode(video=0)][::2]
    detector = MotionDetector(use_opencv=use_opencv)
    started = time.process_time()
    for gray in grays * 3:
        detector.detect(gray)
    return 1000 * (time.process_time() - started) / (len(grays) * 3)


def run() -> list[tuple[str, dict[str, float]]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        videos = {
            "1080p@5 H.264": camera_like(Path(folder) / "1080p5.mp4", 1920, 1080, 5, 30),
            "720p@15 H.264": camera_like(Path(folder) / "720p15.mp4", 1280, 720, 15, 20),
            "vtest 768x576@10 (real)": VTEST,
        }
        for name, path in videos.items():
            if not path.is_file():
                continue
            decode_cpu, duration = decode_only(path)
            numpy_cpu, _ = pipeline(path, use_opencv=False)
            row = {
                "decode_ms_per_s": 1000 * decode_cpu / duration,
                "pipeline_numpy_ms_per_s": 1000 * numpy_cpu / duration,
                "detect_numpy_ms": detect_ms(path, False),
            }
            if HAVE_OPENCV:
                opencv_cpu, _ = pipeline(path, use_opencv=True)
                row["pipeline_opencv_ms_per_s"] = 1000 * opencv_cpu / duration
                row["detect_opencv_ms"] = detect_ms(path, True)
            rows.append((name, row))
    return rows


def print_table(rows: list[tuple[str, dict[str, float]]]) -> None:
    print("\n## Motion pipeline (CPU ms per video second, detection at 5 fps, one core)")
    print(
        "| video | decode only | pipeline NumPy | ratio | pipeline OpenCV | ratio |"
        " detect ms/frame NumPy | OpenCV | cameras per core (NumPy) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows:
        decode = r["decode_ms_per_s"]
        numpy_ms = r["pipeline_numpy_ms_per_s"]
        opencv_ms = r.get("pipeline_opencv_ms_per_s", float("nan"))
        print(
            f"| {name} | {decode:.1f} | {numpy_ms:.1f} | {numpy_ms / decode:.3f} | "
            f"{opencv_ms:.1f} | {opencv_ms / decode:.3f} | {r['detect_numpy_ms']:.3f} | "
            f"{r.get('detect_opencv_ms', float('nan')):.3f} | {1000 / numpy_ms:.1f} |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak RSS of the benchmark process: {peak:.0f} MiB")
