"""Cameras per core: detect on the substream, record the main stream (issue 12).

A real RTSP peer (gst-rtsp-server) serves two mounts of one scene, as a camera does:
`/main` 1920x1080@15 with a keyframe every 2 s and `/sub` 640x360@15 (the same
frames, scaled). Someone walks across all the time, so each profile is one long
motion event, recorded. Profiles, each through `CameraPipeline`:

- D: decode only, plain PyAV, nothing else (the reference for the ratio);
- A: main stream only, every frame decoded (the baseline);
- B: main stream demuxed only (`decode=False`) + the substream for detection;
- C: B with keyframes-only detection on the substream.

CPU is read per thread: the main stream's source thread, the detection stream's,
the motion thread (detect), the clip writer (record); "other" is the rest of the
process (FFmpeg's own threads, the garbage collector). Peak RSS is the growth over
the process before the cameras started, per camera.

PRIVACY_CAM_CAMERAS_SECONDS (default 60) sets the measured time per profile (300 for
the issue's 5-minute event), PRIVACY_CAM_CAMERAS (default 1) the cameras run at once.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.pipeline import (
    CameraPipeline,
    ClipSaved,
    MotionChanged,
    Output,
    RecordPolicy,
)
from custom_components.privacy_cam.engine.recording.clipstore import ClipStore
from tests.peers.rtsp import RtspServer

FPS = 15
GOP = 2 * FPS
MAIN = (1920, 1080)
SUB = (640, 360)
SEGMENT = 20.0  # seconds encoded; the served files repeat it (remuxed, no re-encode)
WARMUP = 8.0  # past the start-up burst, the pre-roll filled
CACHE = Path(tempfile.gettempdir()) / "privacy_cam_bench_scene"


def seconds() -> float:
    return float(os.environ.get("PRIVACY_CAM_CAMERAS_SECONDS", "60"))


def cameras() -> int:
    return int(os.environ.get("PRIVACY_CAM_CAMERAS", "1"))


# The scene -------------------------------------------------------------------------


def _encode_segment(main: Path, sub: Path) -> None:
    """SEGMENT seconds of a textured yard with sensor noise and a walker, at both sizes."""
    frames = int(SEGMENT * FPS)
    span = MAIN[0] - MAIN[0] // 16
    encode_yard(main, sub, frames, lambda index: int(index / frames * span))


def encode_yard(main: Path, sub: Path, frames: int, walker_x: Callable[[int], int | None]) -> None:
    """`frames` frames of a textured yard with sensor noise, at the MAIN and SUB sizes
    (one H.264 file each, a keyframe every GOP frames), with a walker at `walker_x(index)`
    (None: the yard is empty). `bench many` films its scene with it too."""
    rng = np.random.default_rng(12)
    width, height = MAIN
    tile = rng.integers(30, 220, (height // 8, width // 8), dtype=np.uint8)
    background = tile.repeat(8, 0).repeat(8, 1).astype(np.int16)
    noise = [rng.integers(-4, 5, (height, width), dtype=np.int16) for _ in range(5)]
    outputs = [av.open(str(main), "w"), av.open(str(sub), "w")]
    streams = []
    for output, (w, h) in zip(outputs, (MAIN, SUB), strict=True):
        stream = output.add_stream("libx264", rate=Fraction(FPS, 1))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.options = {
            "preset": "veryfast",
            "crf": "23",
            "bframes": "0",
            "keyint_min": str(GOP),
            "sc_threshold": "0",
        }
        streams.append(stream)
    for index in range(frames):
        luma = background + noise[index % len(noise)]
        if (x := walker_x(index)) is not None:
            luma[height // 3 : 2 * height // 3, x : x + width // 16] = 200
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(np.clip(luma, 0, 255).astype(np.uint8).tobytes())
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        for output, stream, (w, h) in zip(outputs, streams, (MAIN, SUB), strict=True):
            scaled = frame if w == width else frame.reformat(width=w, height=h)
            scaled.pts = index
            for packet in stream.encode(scaled):
                output.mux(packet)
    for output, stream in zip(outputs, streams, strict=True):
        for packet in stream.encode():
            output.mux(packet)
        output.close()


def _repeat(segment: Path, out: Path, times: int) -> None:
    """The segment `times` over, one after the other (each copy starts at a keyframe)."""
    with av.open(str(segment)) as source, av.open(str(out), "w") as target:
        stream: Any = source.streams.video[0]
        copy = target.add_stream_from_template(stream)
        packets: list[Any] = [p for p in source.demux(stream) if p.size]
        first = min(p.dts for p in packets if p.dts is not None)
        length = round(SEGMENT / stream.time_base)
        for round_ in range(times):
            for packet in packets:
                clone = av.Packet(bytes(packet))
                clone.pts = packet.pts - first + round_ * length
                clone.dts = packet.dts - first + round_ * length
                clone.is_keyframe = packet.is_keyframe
                clone.time_base = stream.time_base
                clone.stream = copy
                target.mux(clone)


def scene(duration: float) -> tuple[Path, Path]:
    """The main and sub files, at least `duration` seconds long (cached between runs)."""
    CACHE.mkdir(exist_ok=True)
    main_segment, sub_segment = CACHE / "main_segment.mp4", CACHE / "sub_segment.mp4"
    if not (main_segment.exists() and sub_segment.exists()):
        _encode_segment(main_segment, sub_segment)
    times = int(duration // SEGMENT) + 1
    paths = CACHE / f"main_{times}.mp4", CACHE / f"sub_{times}.mp4"
    for segment, path in zip((main_segment, sub_segment), paths, strict=True):
        if not path.exists():
            _repeat(segment, path, times)
    return paths


# Measuring -------------------------------------------------------------------------


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ThreadClock:
    """CPU seconds of one running thread, read from another thread."""

    def __init__(self, thread: threading.Thread) -> None:
        assert thread.ident is not None
        self.clock = time.pthread_getcpuclockid(thread.ident)
        self.start = time.clock_gettime(self.clock)

    def seconds(self) -> float:
        return time.clock_gettime(self.clock) - self.start


@dataclass
class Result:
    name: str
    cameras: int
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, all cameras
    analysed: int = 0
    decoded: int = 0
    clips: int = 0
    events: int = 0
    preroll_bytes: int = 0
    rss_peak: int = 0  # growth over the process before the cameras, all cameras
    keyframe_interval: float | None = None

    def per_camera_ms(self, column: str) -> float:
        return 1000 * self.cpu.get(column, 0.0) / self.wall / self.cameras

    @property
    def total_ms(self) -> float:
        return 1000 * sum(self.cpu.values()) / self.wall / self.cameras


@contextmanager
def _peer(duration: float) -> Iterator[RtspServer]:
    main, sub = scene(duration)
    server = RtspServer(main, f"/main={main}", f"/sub={sub}")
    try:
        yield server
    finally:
        server.stop()


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def run_profile(name: str, server: RtspServer, duration: float, count: int) -> Result:
    """One profile, `count` cameras at once, measured for `duration` s after warm-up."""
    split = name != "A"
    folder = Path(tempfile.mkdtemp(prefix="privacy_cam_cameras_"))
    store = ClipStore(folder / "privacy_cam")
    store.load()
    result = Result(name, count)
    outputs: list[Output] = []
    rss0 = _rss()
    pipelines = []
    for index in range(count):
        main = create_source(SourceConfig(kind="rtsp", url=server.url("/main"), decode=not split))
        detect = None
        if split:
            detect = create_source(
                SourceConfig(kind="rtsp", url=server.url("/sub"), keyframes_only=name == "C")
            )
        pipelines.append(
            CameraPipeline(
                main,
                store,
                f"camera{index}",
                MotionSettings(),
                outputs.append,
                policy=RecordPolicy(preroll=5.0),
                detect_source=detect,
            )
        )
    # Threads are named by kind: tell the main stream's from the detection stream's.
    for pipeline in pipelines:
        if pipeline.detect_source is not None:
            pipeline.detect_source.start()
            thread = pipeline.detect_source._thread
            assert thread is not None
            thread.name = "bench_detect_stream"
        pipeline.start()  # (the detection stream is running already: no second thread)
    for pipeline in pipelines:
        pipeline.source.wait_ready(15)
    time.sleep(WARMUP)
    clocks = {
        "main stream": [ThreadClock(t) for t in _threads("privacy_cam_rtsp")],
        "detection stream": [ThreadClock(t) for t in _threads("bench_detect_stream")],
        "detect": [ThreadClock(t) for t in _threads("privacy_cam_motion")],
        "record": [ThreadClock(t) for t in _threads("privacy_cam_writer")],
    }
    me = ThreadClock(threading.current_thread())
    analysed0 = sum(p.watcher.frames_analysed for p in pipelines)
    decoded0 = sum(_decoded(p) for p in pipelines)
    outputs.clear()
    cpu0, wall0 = _process_cpu(), time.monotonic()
    peak = 0
    while time.monotonic() - wall0 < duration:
        time.sleep(0.25)
        peak = max(peak, _rss() - rss0)
    result.wall = time.monotonic() - wall0
    for column, thread_clocks in clocks.items():
        result.cpu[column] = sum(c.seconds() for c in thread_clocks)
    process = _process_cpu() - cpu0
    result.cpu["other"] = max(0.0, process - sum(result.cpu.values()) - me.seconds())
    result.analysed = sum(p.watcher.frames_analysed for p in pipelines) - analysed0
    result.decoded = sum(_decoded(p) for p in pipelines) - decoded0
    result.preroll_bytes = max(p.recorder.buffer.size_bytes for p in pipelines)
    result.rss_peak = peak
    result.events = sum(isinstance(o, MotionChanged) for o in outputs)
    for pipeline in pipelines:
        stats = (pipeline.detect_source or pipeline.source).stats
        result.keyframe_interval = stats.keyframe_interval
        pipeline.stop()
        pipeline.close()
    result.clips = sum(isinstance(o, ClipSaved) for o in outputs)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _decoded(pipeline: CameraPipeline) -> int:
    sources = [pipeline.source] + ([pipeline.detect_source] if pipeline.detect_source else [])
    return sum(s.stats.decoded_frames for s in sources)


def decode_only(server: RtspServer, duration: float, count: int) -> Result:
    """Profile D: PyAV decoding every frame of the main stream, nothing else."""
    result = Result("D", count)
    stop = threading.Event()
    decoded = [0] * count

    def decode(index: int) -> None:
        options = {"rtsp_transport": "tcp", "analyzeduration": "1000000", "probesize": "1000000"}
        with av.open(server.url("/main"), options=options, timeout=(8.0, 2.0)) as container:
            container_any: Any = container
            for _ in container_any.decode(video=0):
                decoded[index] += 1
                if stop.is_set():
                    return

    threads = [
        threading.Thread(target=decode, args=(i,), name="bench_decode", daemon=True)
        for i in range(count)
    ]
    rss0 = _rss()
    for thread in threads:
        thread.start()
    time.sleep(WARMUP)
    clocks = [ThreadClock(t) for t in threads]
    me = ThreadClock(threading.current_thread())
    cpu0, wall0, decoded0 = _process_cpu(), time.monotonic(), sum(decoded)
    peak = 0
    while time.monotonic() - wall0 < duration:
        time.sleep(0.25)
        peak = max(peak, _rss() - rss0)
    result.wall = time.monotonic() - wall0
    result.cpu["main stream"] = sum(c.seconds() for c in clocks)
    process = _process_cpu() - cpu0
    result.cpu["other"] = max(0.0, process - result.cpu["main stream"] - me.seconds())
    result.decoded = sum(decoded) - decoded0
    result.rss_peak = peak
    stop.set()
    for thread in threads:
        thread.join(5)
    return result


def run(duration: float | None = None, count: int | None = None) -> list[Result]:
    duration = seconds() if duration is None else duration
    count = cameras() if count is None else count
    results = []
    with _peer(duration + WARMUP + 15) as server:  # fresh streams start at the file's start
        results.append(decode_only(server, duration, count))
        for name in ("A", "B", "C"):
            results.append(run_profile(name, server, duration, count))
    return results


PROFILES = {
    "D": "decode only (PyAV, reference)",
    "A": "main only, every frame",
    "B": "main + substream",
    "C": "main + substream, keyframes only",
}


def print_table(results: list[Result]) -> None:
    by = {r.name: r for r in results}
    print(
        f"\n## Cameras per core ({results[0].cameras} camera(s) per profile, "
        f"{results[0].wall:.0f} s each; main 1920x1080@15 GOP 2 s, sub 640x360@15)"
    )
    print(
        "| profile | main stream | detection stream | detect | record | other | total "
        "| cameras per core | detect ms per analysed frame | analysed fps | decoded fps "
        "| events / clips | peak RSS per camera | pre-roll + 32 MiB |"
    )
    print("| --- | " + "--- | " * 13)
    for r in results:
        analysed = r.analysed / r.wall / r.cameras
        detect_ms = 1000 * r.cpu.get("detect", 0.0) / r.analysed if r.analysed else float("nan")
        print(
            f"| {r.name}: {PROFILES[r.name]} | "
            + " | ".join(
                f"{r.per_camera_ms(c):.1f}"
                for c in ("main stream", "detection stream", "detect", "record", "other")
            )
            + f" | {r.total_ms:.1f} | {1000 / r.total_ms:.1f} | "
            f"{detect_ms:.3f} | {analysed:.1f} | {r.decoded / r.wall / r.cameras:.1f} | "
            f"{r.events} / {r.clips} | {r.rss_peak / r.cameras / 2**20:.1f} MiB | "
            f"{(r.preroll_bytes + 32 * 2**20) / 2**20:.1f} MiB |"
        )
    print(
        "\nCPU columns: ms of CPU per camera-second. main/detection stream: the source"
        " threads (demux, decode, analysis image, packets to the pre-roll); detect: the"
        " motion thread (detection, events, thumbnails); record: the clip writer; other:"
        " FFmpeg's decoder threads and the rest of the process."
    )
    if {"A", "D"} <= by.keys():
        ratio = by["A"].total_ms / by["D"].total_ms
        print(f"- single-stream pipeline / decode only (A / D): {ratio:.3f} (target <= 1.05)")
        always_on = (by["A"].total_ms - by["A"].per_camera_ms("record")) / by["D"].total_ms
        print(f"- the same without the clip writer (the always-on path): {always_on:.3f}")
    if {"A", "B"} <= by.keys():
        print(
            f"- cameras per core, B / A: {by['A'].total_ms / by['B'].total_ms:.1f}x (target >= 5x)"
        )
    if {"B", "C"} <= by.keys():

        def detection(r: Result) -> float:
            return r.per_camera_ms("detection stream") + r.per_camera_ms("detect")

        print(
            f"- detection (detection stream + detect), B / C: "
            f"{detection(by['B']) / detection(by['C']):.1f}x cheaper (target >= 5x)"
        )
    if "C" in by and by["C"].keyframe_interval:
        print(f"- measured keyframe interval: {by['C'].keyframe_interval:.2f} s")
