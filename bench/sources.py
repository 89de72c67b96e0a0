"""Source benchmarks: first-frame latency and CPU per camera against real peers."""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.sources.frames import AnalysisFrame
from custom_components.privacy_cam.engine.sources.queues import DropOldestQueue
from tests.peers.http_camera import HttpCamera
from tests.peers.rtsp import rtsp_server
from tests.peers.videos import make_h264


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(config: SourceConfig, seconds: float, runs: int) -> dict[str, float]:
    latencies = []
    for _ in range(runs):
        source = create_source(config)
        started = time.monotonic()
        source.start()
        source.wait_ready(15)
        latencies.append(time.monotonic() - started)
        source.stop()
    source = create_source(config)
    frames: DropOldestQueue[AnalysisFrame] = DropOldestQueue(2)
    source.add_frame_callback(frames.put)  # as the pipeline does, without detection
    source.start()
    source.wait_ready(15)
    time.sleep(1.0)  # past the start-up burst
    cpu0, wall0, frames0 = _cpu(), time.monotonic(), source.stats.frames
    drained = 0
    while time.monotonic() - wall0 < seconds:
        if frames.get(0.5) is not None:
            drained += 1
    cpu, wall = _cpu() - cpu0, time.monotonic() - wall0
    frames = source.stats.frames - frames0
    source.stop()
    return {
        "first_frame_s": statistics.median(latencies),
        "cpu_ms_per_s": cpu / wall * 1000,
        "core_pct": cpu / wall * 100,
        "fps": frames / wall,
        "analysis_fps": drained / wall,
    }


def run(seconds: float = 8.0, runs: int = 5) -> list[tuple[str, dict[str, float]]]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        video = make_h264(
            Path(folder) / "1080p15.mp4", width=1920, height=1080, fps=15, seconds=30, gop=30
        )
        with rtsp_server(video) as server:
            config = SourceConfig(kind="rtsp", url=server.url())
            results.append(("RTSP 1080p@15 H.264", _measure(config, seconds, runs)))
    camera = HttpCamera(fps=10)
    camera.start()
    try:
        mjpeg = SourceConfig(kind="mjpeg", url=camera.url("/mjpeg"))
        results.append(("MJPEG 320x240@10", _measure(mjpeg, seconds, runs)))
    finally:
        camera.stop()
    results.append(
        (
            "Demo 640x360@10 (incl. synthesis+x264)",
            _measure(SourceConfig(kind="demo"), seconds, runs),
        )
    )
    return results


def print_table(results: list[tuple[str, dict[str, float]]]) -> None:
    print("\n## Sources (one camera, analysis at 5 fps, 120 px high)")
    print("| source | first frame (s) | CPU ms per s | % of one core | fps | analysis fps |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results:
        print(
            f"| {name} | {r['first_frame_s']:.2f} | {r['cpu_ms_per_s']:.0f} | "
            f"{r['core_pct']:.1f} | {r['fps']:.1f} | {r['analysis_fps']:.1f} |"
        )
