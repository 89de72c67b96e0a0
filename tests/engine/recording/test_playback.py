"""Recorded clips play in a real browser: headless Chromium, <video> readyState >= 3."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from custom_components.privacy_cam.engine.recording.clipwriter import encode_jpegs, remux_packets
from custom_components.privacy_cam.engine.sources.frames import JpegFrame

from ...peers.videos import jpeg_frames, make_h264, read_packets

PAGE = """<!doctype html><html><head><title>loading</title></head><body>
<video id="v" src="{src}" muted preload="auto"></video>
<script>
const v = document.getElementById("v");
const report = () => {{ document.title = "ready:" + v.readyState + ":" + v.duration.toFixed(2); }};
v.addEventListener("canplaythrough", report);
v.addEventListener("error", () => {{ document.title = "error:" + (v.error && v.error.code); }});
</script></body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No request lines in the test output."""


def _play(folder: Path, clip: str) -> tuple[int, float]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is missing: run scripts/setup as root")
    (folder / "page.html").write_text(PAGE.format(src=clip))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={folder / 'profile'}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_address[1]}/page.html",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    match = re.search(r"<title>ready:(\d):([\d.]+)</title>", result.stdout)
    assert match, re.search(r"<title>[^<]*</title>", result.stdout)
    return int(match.group(1)), float(match.group(2))


def test_remuxed_clip_plays_in_chromium(tmp_path: Path) -> None:
    video = make_h264(tmp_path / "camera.mp4", seconds=6.0)
    packets, info = read_packets(video, 50)
    duration = remux_packets(packets, info, tmp_path / "clip.mp4")
    state, played = _play(tmp_path, "clip.mp4")
    assert state >= 3
    assert abs(played - duration) <= 0.5 and abs(played - 5.0) <= 0.5


def test_salvaged_clip_plays_in_chromium(tmp_path: Path) -> None:
    """What start-up makes of a clip cut short by a crash plays from the first byte."""
    import os

    from custom_components.privacy_cam.engine.recording.clipstore import ClipStore
    from custom_components.privacy_cam.engine.recording.clipwriter import RemuxWriter

    video = make_h264(tmp_path / "camera.mp4", seconds=6.0)
    packets, info = read_packets(video, 50)
    store = ClipStore(tmp_path / "privacy_cam")
    store.load()
    path, _ = store.new_paths("garden", 1_700_000_000.0, "abcdefabcdef")
    writer = RemuxWriter(path, info)
    for packet in packets:
        writer.write(packet)
    os.close(writer._lock_fd or -1)  # the process died: the kernel drops its lock
    store.load()
    clip = store.get("abcdefabcdef")
    assert clip is not None and clip.reason == "interrupted"
    state, played = _play(store.root, clip.path)
    assert state >= 3 and abs(played - clip.duration) <= 0.2 and played >= 4.0


def test_encoded_mjpeg_clip_plays_in_chromium(tmp_path: Path) -> None:
    stills = [JpegFrame(data, 1000.0 + i / 5) for i, data in enumerate(jpeg_frames(20))]
    encode_jpegs(stills, tmp_path / "clip.mp4")
    state, played = _play(tmp_path, "clip.mp4")
    assert state >= 3 and abs(played - 4.0) <= 0.5
