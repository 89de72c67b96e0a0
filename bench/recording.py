"""Recording benchmark: what clips cost on top of detection, and pre-roll memory."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from custom_components.privacy_cam.engine import SourceConfig, create_source
from custom_components.privacy_cam.engine.motion.detector import MotionSettings
from custom_components.privacy_cam.engine.pipeline import (
    CameraPipeline,
    ClipSaved,
    Output,
    RecordMode,
    RecordPolicy,
)
from custom_components.privacy_cam.engine.recording.clipstore import Clip, ClipStore
from tests.peers.http_camera import HttpCamera
from tests.peers.rtsp import rtsp_server
from tests.peers.videos import jpeg_frames

from .motion import camera_like

SECONDS = 20.0


def _rss() -> int:
    """Resident memory of this process now (bytes)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(config: SourceConfig, folder: Path, record: bool) -> dict[str, float]:
    store = ClipStore(folder / "privacy_cam")
    store.load()
    source = create_source(config)
    clips: list[Clip] = []

    def on_output(output: Output) -> None:
        if isinstance(output, ClipSaved):
            clips.append(output.clip)

    # Detection runs as on a real camera; only the manual clip below is recorded.
    policy = RecordPolicy(mode=RecordMode.OFF, preroll=5.0)
    pipeline = CameraPipeline(source, store, "bench", MotionSettings(), on_output, policy=policy)
    recorder = pipeline.recorder
    sizes: list[int] = []
    source.add_packet_callback(lambda p: sizes.append(len(p.data)))
    source.add_jpeg_callback(lambda j: sizes.append(len(j.data)))
    pipeline.start()
    source.wait_ready(15)
    time.sleep(6.0)  # fill the pre-roll
    preroll_bytes = recorder.buffer.size_bytes
    cpu0, wall0, bytes0 = _cpu(), time.monotonic(), sum(sizes)
    rss0 = _rss()
    rss_growth = backlog = 0
    if record:
        recorder.begin("manual", None, since=time.time(), duration=SECONDS - 0.5)
    while time.monotonic() - wall0 < SECONDS:
        time.sleep(0.25)
        # With clips written as they happen, memory must not grow with the event.
        rss_growth = max(rss_growth, _rss() - rss0)
        backlog = max(backlog, recorder.open_bytes)
    pipeline.stop()  # includes writing the clip
    cpu, wall = _cpu() - cpu0, time.monotonic() - wall0
    pipeline.close()
    bitrate = (sum(sizes) - bytes0) / wall if sizes else 0.0
    return {
        "cpu_ms_per_s": 1000 * cpu / wall,
        "preroll_bytes": preroll_bytes,
        "bitrate_bytes_per_s": bitrate,
        "clips": len(clips),
        "event_bytes": sum(sizes) - bytes0,
        "rss_growth": rss_growth,
        "writer_backlog": backlog,
    }


def run() -> list[tuple[str, dict[str, float], dict[str, float]]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        video = camera_like(folder / "1080p15.mp4", 1920, 1080, 15, 30)

        def best(config_for: Callable[[], Any], name: str, record: bool) -> dict[str, float]:
            """The calmer of two runs: background load only ever adds CPU."""
            runs = []
            for attempt in range(2):
                with config_for() as config:
                    runs.append(_run(config, folder / f"{name}{attempt}", record))
            return min(runs, key=lambda r: r["cpu_ms_per_s"])

        @contextmanager
        def rtsp() -> Iterator[SourceConfig]:
            with rtsp_server(video) as server:  # fresh per run: each client starts the file
                yield SourceConfig(kind="rtsp", url=server.url())

        rows.append(("RTSP 1080p@15 H.264 (remux)", best(rtsp, "a", False), best(rtsp, "b", True)))
        camera = HttpCamera(fps=10, frames=jpeg_frames(10, 1280, 720))
        camera.start()
        try:

            @contextmanager
            def mjpeg() -> Iterator[SourceConfig]:
                yield SourceConfig(kind="mjpeg", url=camera.url("/mjpeg"))

            rows.append(
                ("MJPEG 720p@10 (re-encode)", best(mjpeg, "c", False), best(mjpeg, "d", True))
            )
        finally:
            camera.stop()
    return rows


def print_table(rows: list[tuple[str, dict[str, float], dict[str, float]]]) -> None:
    print("\n## Recording (CPU ms per second of live video; source + detection, then + a clip)")
    print(
        "| source | detection only | while recording | extra | pre-roll buffer |"
        " pre-roll x bitrate | buffer / (pre-roll x bitrate) | event data |"
        " RSS growth while recording | writer backlog (max) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, base, rec in rows:
        ideal = 5.0 * base["bitrate_bytes_per_s"]
        ratio = base["preroll_bytes"] / ideal if ideal else float("nan")
        print(
            f"| {name} | {base['cpu_ms_per_s']:.1f} | {rec['cpu_ms_per_s']:.1f} | "
            f"{100 * (rec['cpu_ms_per_s'] / base['cpu_ms_per_s'] - 1):+.1f}% | "
            f"{base['preroll_bytes'] / 1e6:.2f} MB | {ideal / 1e6:.2f} MB | {ratio:.2f} | "
            f"{rec['event_bytes'] / 1e6:.2f} MB | {rec['rss_growth'] / 1e6:.2f} MB | "
            f"{rec['writer_backlog'] / 1e3:.0f} kB |"
        )
