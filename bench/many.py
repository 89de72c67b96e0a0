"""Eight cameras at once in one Home Assistant (issue 12's last table).

One real Home Assistant runs in this process (bootstrapped from a temporary config
folder, as `hass` would), with the integration loaded from this checkout. A real RTSP
peer (gst-rtsp-server, one process) serves two mounts of one scene: `/main`
1920x1080@15 with a keyframe every 2 s and `/sub` 640x360@15. Each camera is its own
config entry and its own RTSP session(s), so each gets the files from their start.

The scene is an empty yard for WALKER_APPEARS seconds (mid-GOP: a keyframe at 6 s, the
next at 8 s); then someone walks across, all the time, so each camera has one long
motion event, recorded, as in `bench cameras`. Profiles, in turn (the entries of one
profile are removed before the next):

- A: main stream only, every frame decoded;
- B: main stream demuxed/recorded + the substream for detection (`detect_url`);
- C: B with `detect_frames: keyframes`.

Per profile: CPU of the whole process (getrusage deltas) per camera-second over the
measured window, cameras per core (1000 / that), OS threads and RSS of the process
(total, and per camera over Home Assistant with no camera), and the delay from the
walker's appearance in each camera's stream to `privacy_cam_motion_started` on the bus.

The delay is measured per camera on its own stream clock: every keyframe the camera's
detection source (A: the main stream; B, C: the substream) receives is noted with its
media time and arrival time (a wrapper around `Source._note_keyframe`: one call per
keyframe, nothing else changes). RTSP media time is the file's own time (each session
starts the file from its beginning; checked: the keyframes' media times are the file's
keyframe times), so the walker's media time is the presentation time of the file's
frame WALKER_APPEARS * FPS, read from the served file. The stream's arrival clock is
the smallest (arrival - media) over the keyframes (the least-delayed one: FFmpeg's
probing holds back the first second of packets). The walker's arrival = that clock +
its media time; the delay is the bus event's arrival (time.monotonic() in a listener on
HA's loop) minus it. "On time": within ON_TIME s of the same profile's delay with one
camera alone in the same Home Assistant (a short reference run before the eight).

PRIVACY_CAM_MANY_SECONDS (default 60) sets the measured window per profile,
PRIVACY_CAM_MANY_CAMERAS (default 8) the cameras.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FPS = 15  # the scene is bench/cameras.py's (`encode_yard`): same rate, sizes, GOP
GOP = 2 * FPS
MAIN = (1920, 1080)
SUB = (640, 360)
WALKER_APPEARS = 7.0  # seconds into each stream; mid-GOP
LOOP_START = 8.0  # the files repeat [LOOP_START, LOOP_START + LOOP) (starts at a keyframe)
LOOP = 20.0  # the walker crosses once per LOOP, so the repeat is seamless
ON_TIME = 0.5  # s later than one camera alone still counts as on time
REFERENCE = 12.0  # s measured for the one-camera reference (the event is in by then)
WARMUP = 8.0  # after every camera streams: the start-up burst is over, the walker is in
BASELINE = 10.0  # seconds of Home Assistant with no camera, measured
CACHE = Path(tempfile.gettempdir()) / "privacy_cam_bench_scene"
PROFILES = {
    "A": "main only, every frame decoded",
    "B": "main + substream",
    "C": "main + substream, keyframes only",
}


def seconds() -> float:
    return float(os.environ.get("PRIVACY_CAM_MANY_SECONDS", "60"))


def cameras() -> int:
    return int(os.environ.get("PRIVACY_CAM_MANY_CAMERAS", "8"))


# The scene -------------------------------------------------------------------------


def _walker_x(t: float, width: int) -> int | None:
    if t < WALKER_APPEARS:
        return None
    span = width - width // 16
    return int(((t - WALKER_APPEARS) / LOOP) % 1.0 * span)


def _encode(main: Path, sub: Path) -> None:
    """LOOP_START + LOOP seconds: an empty yard, then the walker from WALKER_APPEARS on."""
    from bench.cameras import encode_yard

    encode_yard(
        main, sub, int((LOOP_START + LOOP) * FPS), lambda index: _walker_x(index / FPS, MAIN[0])
    )


def _repeat(clip: Path, out: Path, loops: int) -> None:
    """The clip, then its [LOOP_START, end) part `loops` more times (remuxed)."""
    import av

    with av.open(str(clip)) as source, av.open(str(out), "w") as target:
        stream: Any = source.streams.video[0]
        copy = target.add_stream_from_template(stream)
        packets: list[Any] = [p for p in source.demux(stream) if p.size]
        first = min(p.dts for p in packets if p.dts is not None)
        start = round(LOOP_START / stream.time_base)
        length = round(LOOP / stream.time_base)
        rounds = [(packets, 0)]
        # Decode order from the keyframe at LOOP_START (x264 may reorder frames).
        at = next(i for i, p in enumerate(packets) if p.is_keyframe and p.pts - first >= start)
        looped = packets[at:]
        rounds += [(looped, k * length) for k in range(1, loops + 1)]
        for chosen, shift in rounds:
            for packet in chosen:
                clone = av.Packet(bytes(packet))
                clone.pts = packet.pts - first + shift
                clone.dts = packet.dts - first + shift
                clone.is_keyframe = packet.is_keyframe
                clone.time_base = stream.time_base
                clone.stream = copy
                target.mux(clone)


def scene(duration: float) -> tuple[Path, Path]:
    """The main and sub files, at least `duration` seconds long (cached between runs)."""
    CACHE.mkdir(exist_ok=True)
    clips = CACHE / "many_main_clip.mp4", CACHE / "many_sub_clip.mp4"
    if not all(path.exists() for path in clips):
        _encode(*clips)
    loops = max(1, int((duration - LOOP_START) // LOOP) + 1)
    paths = CACHE / f"many_main_{loops}.mp4", CACHE / f"many_sub_{loops}.mp4"
    for clip, path in zip(clips, paths, strict=True):
        if not path.exists():
            _repeat(clip, path, loops)
    return paths


def walker_media(path: Path) -> float:
    """The presentation time (s) of the first frame with the walker in a served file."""
    import av

    with av.open(str(path)) as container:
        stream: Any = container.streams.video[0]
        times = sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
        return float(times[round(WALKER_APPEARS * FPS)] * stream.time_base)


def _scene_elsewhere(duration: float) -> tuple[Path, Path, float, float]:
    """Encode in a child process: the Home Assistant process stays clean for RSS."""
    code = (
        "from bench.many import scene, walker_media\n"
        f"paths = scene({duration!r})\n"
        "print(*paths, *(walker_media(p) for p in paths), sep='\\n')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return Path(out[-4]), Path(out[-3]), float(out[-2]), float(out[-1])


# Measuring -------------------------------------------------------------------------


def _status() -> dict[str, int]:
    values = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {"threads": int(values["Threads"]), "rss": int(values["VmRSS"].split()[0]) * 1024}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _trim() -> None:
    """Hand freed heap back to the system, so RSS after an unload means something."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# (media seconds, monotonic arrival) of every keyframe, per source object id.
_KEYFRAMES: dict[int, list[tuple[float, float]]] = {}


def _watch_keyframes() -> None:
    from custom_components.privacy_cam.engine.sources.source import Source

    original = Source._note_keyframe

    def note(self: Source, media: float | None, now: float) -> None:
        if media is not None:
            _KEYFRAMES.setdefault(id(self), []).append((media, now))
        original(self, media, now)

    Source._note_keyframe = note  # type: ignore[method-assign]


@dataclass
class Usage:
    threads: int
    rss: int


@dataclass
class Result:
    name: str
    cameras: int
    wall: float = 0.0
    cpu: float = 0.0  # seconds, the whole process
    start: Usage | None = None  # before the entries were added
    end: Usage | None = None  # at the end of the window
    peak_rss: int = 0
    after: Usage | None = None  # after the entries were removed
    delays: list[float] = field(default_factory=list)
    events: int = 0  # motion_started, all cameras, the whole profile
    missing: list[str] = field(default_factory=list)
    keyframe_interval: float | None = None
    first_media: list[float] = field(default_factory=list)
    reference: float | None = None  # the delay with one camera alone
    decoded_main: int = 0

    @property
    def ms(self) -> float:
        return 1000 * self.cpu / self.wall / self.cameras


@dataclass
class Report:
    cameras: int
    seconds: float
    idle_ms: float = 0.0  # ms of CPU per second, HA with no camera
    baseline: Usage | None = None
    results: list[Result] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(config: Path, media: Path) -> None:
    config.mkdir(parents=True, exist_ok=True)
    media.mkdir(parents=True, exist_ok=True)
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: many\n  time_zone: UTC\n  media_dirs:\n"
        f"    local: {media}\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {_free_port()}\n"
        "media_source:\nstream:\ncamera:\n"
        "logger:\n  default: warning\n"
    )


async def _wait(predicate: Any, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return predicate()


async def _profile(
    hass: Any,
    name: str,
    urls: tuple[str, str],
    walker: tuple[float, float],
    count: int,
    duration: float,
) -> Result:
    from homeassistant.config_entries import SOURCE_USER, ConfigEntry

    result = Result(name, count)
    _trim()
    now = _status()
    result.start = Usage(now["threads"], now["rss"])
    _KEYFRAMES.clear()
    events: dict[str, list[float]] = {}

    def motion(event: Any) -> None:
        events.setdefault(event.data["camera"], []).append(time.monotonic())

    unlisten = hass.bus.async_listen("privacy_cam_motion_started", motion)
    entries = []
    for index in range(count):
        data: dict[str, Any] = {"kind": "rtsp", "url": urls[0]}
        options: dict[str, Any] = {}
        if name != "A":
            data["detect_url"] = urls[1]
        if name == "C":
            options["detect_frames"] = "keyframes"
        entry = ConfigEntry(
            data=data,
            discovery_keys=MappingProxyType({}),
            domain="privacy_cam",
            minor_version=1,
            options=options,
            source=SOURCE_USER,
            subentries_data=None,
            title=f"{name}{count}-{index}",
            unique_id=f"many-{name}{count}-{index}",
            version=1,
        )
        await hass.config_entries.async_add(entry)
        entries.append(entry)
    await hass.async_block_till_done()
    pipelines = [entry.runtime_data.runtime.pipeline for entry in entries]
    sources = [s for p in pipelines for s in (p.source, p.detect_source) if s is not None]
    if not await _wait(lambda: all(s.stats.connected_since for s in sources), 60):
        print(f"profile {name}: not every stream came up", file=sys.stderr)
    await asyncio.sleep(WARMUP)
    cpu0, wall0 = _cpu(), time.monotonic()
    decoded0 = sum(p.source.stats.decoded_frames for p in pipelines)
    peak = 0
    while time.monotonic() - wall0 < duration:
        await asyncio.sleep(0.5)
        peak = max(peak, _status()["rss"])
    result.wall = time.monotonic() - wall0
    result.cpu = _cpu() - cpu0
    now = _status()
    result.end = Usage(now["threads"], now["rss"])
    result.peak_rss = max(peak, now["rss"])
    result.decoded_main = sum(p.source.stats.decoded_frames for p in pipelines) - decoded0
    for entry, pipeline in zip(entries, pipelines, strict=True):
        watched = pipeline.detect_source or pipeline.source
        result.keyframe_interval = watched.stats.keyframe_interval
        keyframes = _KEYFRAMES.get(id(watched), [])
        fired = events.get(entry.title, [])
        result.events += len(fired)
        if not keyframes or not fired:
            result.missing.append(entry.title)
            continue
        clock = min(arrived - media for media, arrived in keyframes)
        result.first_media.append(keyframes[0][0])
        appears = walker[0] if pipeline.detect_source is None else walker[1]
        result.delays.append(fired[0] - (clock + appears))
    unlisten()
    for entry in entries:
        await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    await asyncio.sleep(3)
    _trim()
    now = _status()
    result.after = Usage(now["threads"], now["rss"])
    return result


async def _run(
    config: Path,
    urls: tuple[str, str],
    walker: tuple[float, float],
    count: int,
    duration: float,
) -> Report:
    from homeassistant import bootstrap, runner

    report = Report(count, duration)
    hass = await bootstrap.async_setup_hass(
        runner.RuntimeConfig(
            config_dir=str(config), skip_pip=True, log_file=str(config / "many.log")
        )
    )
    if hass is None:
        raise RuntimeError(f"Home Assistant did not start: see {config / 'many.log'}")
    await hass.async_start()
    await hass.async_block_till_done()
    # Load the integration once (its imports) before the no-camera baseline.
    from homeassistant.setup import async_setup_component

    await async_setup_component(hass, "privacy_cam", {})
    _watch_keyframes()
    await asyncio.sleep(5)
    _trim()
    cpu0, wall0 = _cpu(), time.monotonic()
    await asyncio.sleep(BASELINE)
    report.idle_ms = 1000 * (_cpu() - cpu0) / (time.monotonic() - wall0)
    now = _status()
    report.baseline = Usage(now["threads"], now["rss"])
    try:
        for name in PROFILES:
            alone = await _profile(hass, name, urls, walker, 1, REFERENCE)
            result = await _profile(hass, name, urls, walker, count, duration)
            result.reference = alone.delays[0] if alone.delays else None
            report.results.append(result)
    finally:
        await hass.async_stop()
    return report


def run(duration: float | None = None, count: int | None = None) -> Report:
    from tests.peers.rtsp import RtspServer

    duration = seconds() if duration is None else duration
    count = cameras() if count is None else count
    # A session lasts set-up + warm-up + the window (+ margin): the files must not end.
    main, sub, *walker = _scene_elsewhere(duration + WARMUP + 90)
    server = RtspServer(main, f"/main={main}", f"/sub={sub}")
    folder = Path(tempfile.mkdtemp(prefix="privacy_cam_many_"))

    def clean_up() -> None:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    try:
        config, media = folder / "config", folder / "media"
        _write_config(config, media)
        urls = server.url("/main"), server.url("/sub")
        return asyncio.run(_run(config, urls, (walker[0], walker[1]), count, duration))
    finally:
        # Home Assistant's blocking-call guard stays on this thread after it stopped:
        # clean up from another one.
        cleaner = threading.Thread(target=clean_up)
        cleaner.start()
        cleaner.join()


def print_table(report: Report) -> None:
    base = report.baseline
    assert base is not None
    mib = 2**20
    print(
        f"\n## {report.cameras} cameras in one Home Assistant ({report.seconds:.0f} s per "
        "profile; main 1920x1080@15 GOP 2 s, sub 640x360@15)"
    )
    print(
        f"Home Assistant with no camera: {base.threads} threads, {base.rss / mib:.0f} MiB RSS,"
        f" {report.idle_ms:.1f} ms CPU per second\n"
    )
    print(
        "| profile | CPU ms per camera-second | cameras per core | threads (per camera) "
        "| RSS end / peak (per camera) | motion_started delay median / max "
        "| delay, 1 camera alone | events on time | RSS / threads after removal |"
    )
    print("| --- | " + "--- | " * 8)
    for r in report.results:
        assert r.end is not None and r.after is not None
        per_thread = (r.end.threads - base.threads) / r.cameras
        per_rss = (r.end.rss - base.rss) / r.cameras / mib
        per_peak = (r.peak_rss - base.rss) / r.cameras / mib
        delays = f"{statistics.median(r.delays):.2f} s / {max(r.delays):.2f} s" if r.delays else "-"
        reference = "-" if r.reference is None else f"{r.reference:.2f} s"
        on_time = "?" if r.reference is None else sum(d <= r.reference + ON_TIME for d in r.delays)
        print(
            f"| {r.name}: {PROFILES[r.name]} | {r.ms:.1f} | {1000 / r.ms:.1f} "
            f"| {r.end.threads} ({per_thread:+.1f}) "
            f"| {r.end.rss / mib:.0f} / {r.peak_rss / mib:.0f} MiB "
            f"({per_rss:+.1f} / {per_peak:+.1f} MiB) | {delays} "
            f"| {reference} | {on_time}/{r.cameras} ({r.events} events) "
            f"| {r.after.rss / mib:.0f} MiB / {r.after.threads} |"
        )
    print(
        "\nCPU: getrusage(RUSAGE_SELF) of the whole Home Assistant process over the window,"
        f" per camera-second (HA idle, {report.idle_ms:.1f} ms/s, included)."
        " Threads and RSS: /proc/self/status at the end of the window, per camera over"
        " HA with no camera. Delay: walker's arrival in each camera's detection stream"
        f" ({WALKER_APPEARS:g} s into it, mid-GOP) to privacy_cam_motion_started on the bus;"
        f" on time: at most {ON_TIME:g} s later than with one camera alone."
    )
    for r in report.results:
        extra = []
        if r.delays:
            extra.append("delays " + ", ".join(f"{d:.2f}" for d in r.delays))
        if r.missing:
            extra.append("no event/keyframes: " + ", ".join(r.missing))
        if r.first_media:
            extra.append(f"first keyframe media time max {max(r.first_media):.2f} s")
        if r.keyframe_interval:
            extra.append(f"keyframe interval {r.keyframe_interval:.2f} s")
        extra.append(f"main decoded fps per camera {r.decoded_main / r.wall / r.cameras:.1f}")
        print(f"- {r.name}: " + "; ".join(extra))
    by = {r.name: r for r in report.results}
    if {"A", "B", "C"} <= by.keys():
        print(
            f"- cameras per core B / A: {by['A'].ms / by['B'].ms:.1f}x, "
            f"C / A: {by['A'].ms / by['C'].ms:.1f}x"
        )
