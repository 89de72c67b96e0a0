"""Soak: a real Home Assistant with 2 RTSP cameras, the camera server restarted every 30 s and
Home Assistant itself restarted (graceful and SIGKILL), motion all along.

    scripts/bench soak [MINUTES]          (default 30; PRIVACY_CAM_SOAK_MINUTES also works)

Reports clips written, seconds recorded against seconds streamed, failed writes, recovery
times after each server restart, and threads/RSS of the HA process at start and end.
Everything runs on 127.0.0.1 in a temporary config folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tests.peers.rtsp import RTSP_PYTHON, SCRIPT
from tests.peers.videos import make_h264

ROOT = Path(__file__).resolve().parent.parent
SERVER_PERIOD = 30.0  # the camera server is restarted this often
SERVER_DOWN = 3.0  # and stays down this long
HA_RESTARTS = 5
CAMERAS = ("Porch", "Yard")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(config: Path, http_port: int, media: Path) -> None:
    config.mkdir(parents=True, exist_ok=True)
    media.mkdir(parents=True, exist_ok=True)
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: soak\n  time_zone: UTC\n  media_dirs:\n"
        f"    local: {media}\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {http_port}\n"
        "media_source:\nstream:\ncamera:\n"
        "logger:\n  default: warning\n  logs:\n    custom_components.privacy_cam: info\n"
    )


async def _seed_entries(config: Path, rtsp_port: int) -> None:
    """Two RTSP cameras as config entries, written with HA's own storage helpers."""
    from homeassistant.config_entries import SOURCE_USER, ConfigEntry
    from homeassistant.config_entries import STORAGE_KEY as ENTRIES_KEY
    from homeassistant.config_entries import STORAGE_VERSION as ENTRIES_VERSION
    from homeassistant.config_entries import STORAGE_VERSION_MINOR as ENTRIES_MINOR
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.storage import Store

    hass = HomeAssistant(str(config))
    entries = [
        ConfigEntry(
            data={"kind": "rtsp", "url": f"rtsp://127.0.0.1:{rtsp_port}/cam{index}"},
            discovery_keys=MappingProxyType({}),
            domain="privacy_cam",
            minor_version=1,
            # Short events would end between restarts; the defaults are what users run.
            options={},
            source=SOURCE_USER,
            subentries_data=None,
            title=name,
            unique_id=f"soak-{index}",
            version=1,
        )
        for index, name in enumerate(CAMERAS, 1)
    ]
    store: Store[dict[str, Any]] = Store(
        hass, ENTRIES_VERSION, ENTRIES_KEY, minor_version=ENTRIES_MINOR
    )
    await store.async_save({"entries": [entry.as_storage_fragment for entry in entries]})
    await hass.async_stop(force=True)


@dataclass
class Server:
    """The camera server on a fixed port, restarted on demand."""

    port: int
    video: Path
    process: subprocess.Popen[str] | None = None
    up_since: float | None = None
    streamed_up: list[tuple[float, float]] = field(default_factory=list)

    def start(self) -> None:
        mounts = [f"/cam{index}={self.video}" for index in range(1, len(CAMERAS) + 1)]
        self.process = subprocess.Popen(
            [RTSP_PYTHON, str(SCRIPT), str(self.port), *mounts],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "READY":
            raise RuntimeError("the RTSP server did not start")
        self.up_since = time.time()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None
        if self.up_since is not None:
            self.streamed_up.append((self.up_since, time.time()))
            self.up_since = None


@dataclass
class Hass:
    config: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    running: list[tuple[float, float]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        # A log per run: HA keeps only one previous log of its own.
        self.logs.append(self.config / f"soak-{len(self.logs) + 1}.log")
        launcher = ROOT / "scripts" / "hass_launcher.py"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(launcher),
                "--config",
                str(self.config),
                "--log-file",
                str(self.logs[-1]),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.started = time.time()

    def stop(self, graceful: bool) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.running.append((self.started, time.time()))
        self.process = None

    def usage(self) -> dict[str, int]:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {
            "threads": int(values["Threads"]),
            "rss_mib": int(values["VmRSS"].split()[0]) // 1024,
        }


def _overlap(spans_a: list[tuple[float, float]], spans_b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(a1, b1) - max(a0, b0)) for a0, a1 in spans_a for b0, b1 in spans_b)


def _log_times(log: Path, pattern: str) -> list[tuple[float, str]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if pattern in line and (match := LOG_TIME.match(line)):
            when = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC).timestamp()
            found.append((when, line))
    return found


def run(minutes: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="privacy_cam_soak_") as tmp:
        folder = Path(tmp)
        video = make_h264(folder / "walk.mp4", width=640, height=360, fps=10, seconds=120, gop=20)
        config, media = folder / "config", folder / "media"
        http_port, rtsp_port = _free_port(), _free_port()
        _write_config(config, http_port, media)
        asyncio.run(_seed_entries(config, rtsp_port))
        server, hass = Server(rtsp_port, video), Hass(config)
        server.start()
        hass.start()
        time.sleep(20)  # HA starts, cameras connect
        start_usage = hass.usage()
        end = time.time() + minutes * 60
        restarts = [end - (minutes * 60) * (k + 1) / (HA_RESTARTS + 1) for k in range(HA_RESTARTS)]
        restarts.sort()
        server_restarts: list[float] = []
        kinds: list[str] = []
        next_server = time.time() + SERVER_PERIOD
        while time.time() < end:
            now = time.time()
            if restarts and now >= restarts[0]:
                restarts.pop(0)
                graceful = len(kinds) % 2 == 0
                kinds.append("SIGTERM" if graceful else "SIGKILL")
                hass.stop(graceful)
                hass.start()
            elif now >= next_server:
                server.stop()
                time.sleep(SERVER_DOWN)
                server.start()
                server_restarts.append(time.time())
                next_server = time.time() + SERVER_PERIOD
            time.sleep(0.5)
        end_usage = hass.usage()
        hass.stop(graceful=True)
        server.stop()
        report = _report(
            config, media, server, hass, server_restarts, kinds, start_usage, end_usage
        )
        # Keep the logs and the clip index for a look after the temporary folder is gone.
        keep = Path(tempfile.gettempdir()) / "privacy_cam_soak"
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir()
        for path in [*hass.logs, media / "privacy_cam" / "index.json"]:
            if path.exists():
                shutil.copy(path, keep / path.name)
        report["kept"] = str(keep)
        return report


def _report(
    config: Path,
    media: Path,
    server: Server,
    hass: Hass,
    server_restarts: list[float],
    kinds: list[str],
    start_usage: dict[str, int],
    end_usage: dict[str, int],
) -> dict[str, Any]:
    logs = [path for path in hass.logs if path.exists()]
    back = [t for p in logs for t, _ in _log_times(p, "is back online")]
    recoveries = []
    for restarted in server_restarts:
        later = [t - restarted for t in back if 0 <= t - restarted < SERVER_PERIOD]
        recoveries.extend(sorted(later)[: len(CAMERAS)])
    failed = sum(len(_log_times(p, "Could not write a clip")) for p in logs)
    index_path = media / "privacy_cam" / "index.json"
    clips = json.loads(index_path.read_text()).get("clips", []) if index_path.exists() else []
    recorded = sum(float(clip.get("duration", 0.0)) for clip in clips)
    streamed = _overlap(server.streamed_up, hass.running) * len(CAMERAS)
    return {
        "minutes": round(sum(b - a for a, b in hass.running) / 60, 1),
        "ha_restarts": kinds,
        "server_restarts": len(server_restarts),
        "clips": len(clips),
        "interrupted_clips": sum(1 for clip in clips if clip.get("reason") == "interrupted"),
        "recorded_s": round(recorded, 1),
        "streamed_s": round(streamed, 1),
        "failed_writes": failed,
        "recovery_s": recoveries,
        "start": start_usage,
        "end": end_usage,
    }


def print_table(report: dict[str, Any]) -> None:
    rec = report["recovery_s"]
    print(f"\nSoak: {len(CAMERAS)} RTSP cameras, {report['minutes']} min of Home Assistant")
    print(f"  HA restarts:        {', '.join(report['ha_restarts']) or 'none'}")
    print(f"  server restarts:    {report['server_restarts']} (every {SERVER_PERIOD:g} s)")
    print(f"  clips written:      {report['clips']} ({report['interrupted_clips']} salvaged)")
    share = report["recorded_s"] / report["streamed_s"] if report["streamed_s"] else 0.0
    print(
        f"  recorded/streamed:  {report['recorded_s']} s / {report['streamed_s']} s = {share:.2f}"
    )
    print(f"  failed writes:      {report['failed_writes']}")
    if rec:
        print(
            f"  recovery (s):       min {min(rec):.1f}  median {statistics.median(rec):.1f}"
            f"  max {max(rec):.1f}  (n={len(rec)})"
        )
    print(f"  logs and index:     {report['kept']}")
    print(
        f"  HA threads / RSS:   {report['start']['threads']} / {report['start']['rss_mib']} MiB"
        f" at start, {report['end']['threads']} / {report['end']['rss_mib']} MiB at end"
    )


def minutes() -> float:
    return float(os.environ.get("PRIVACY_CAM_SOAK_MINUTES", "30"))
