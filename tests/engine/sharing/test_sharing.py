"""Sharing building blocks without Home Assistant: audit chain, destinations, consent
text, report store, packages (minimised + redacted) and delivery to real recipients."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from custom_components.privacy_cam.engine.sharing import senders
from custom_components.privacy_cam.engine.sharing.audit import GENESIS, AuditLog
from custom_components.privacy_cam.engine.sharing.destinations import (
    Destination,
    DestinationError,
    DestinationKind,
    coarse_time,
    consent_text,
    folder_problem,
    pseudonym,
    sha256_file,
    validate_webhook_url,
)
from custom_components.privacy_cam.engine.sharing.faces import load_face_finder
from custom_components.privacy_cam.engine.sharing.package import (
    MAX_WIDTH,
    PackageError,
    Redaction,
    build_package,
    output_size,
)
from custom_components.privacy_cam.engine.sharing.reports import (
    Report,
    ReportStatus,
    ReportStore,
    new_report_id,
)

from ...peers.webhook import webhook_server

DATA = Path(__file__).parents[2] / "data"


@contextmanager
def slow_server(behaviour: str) -> Iterator[str]:
    """A recipient on 127.0.0.1 that reads the request and then never answers
    ("silent") or answers one byte a second ("trickle")."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.2)
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                while not stop.is_set():
                    with contextlib.suppress(OSError):
                        conn.recv(65536)
                    if behaviour == "trickle" and answer:
                        try:
                            conn.send(answer[:1])
                        except OSError:
                            break
                        answer = answer[1:] if len(answer) > 5 else answer
                        stop.wait(0.8)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(5)
        server.close()


def _destination(kind: DestinationKind = DestinationKind.WEBHOOK, target: str = "") -> Destination:
    return Destination(
        id="dest1",
        kind=kind,
        target=target or "https://reviewer.example/hook",
        recipient="Acme Alarm Review",
        purpose="Improve false-alarm detection",
        humans_watch=True,
        retention="30 days",
        withdrawal="Email privacy@acme.example.",
    )


# Audit log --------------------------------------------------------------------------


def test_audit_chain_verifies_and_detects_every_kind_of_tampering(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    assert log.read() == ([], log.verify()) and log.verify().valid  # empty log is valid
    for n in range(4):
        log.append("prepare", report_id=f"r{n}", payload_sha256="ab" * 32)
    entries, status = log.read()
    assert status.valid and status.entries == 4
    assert entries[0]["prev"] == GENESIS
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert all(e["prev"] == p["hash"] for p, e in itertools.pairwise(entries))
    original = log.path.read_text()
    lines = original.splitlines(keepends=True)

    def check(text: str, problem: str, line: int) -> None:
        log.path.write_text(text)
        status = log.verify()
        assert not status.valid and status.problem == problem and status.line == line

    # Edit a value in line 2.
    check(original.replace('"r1"', '"rX"'), "the entry was changed", 2)
    # Remove a line in the middle.
    check("".join(lines[:1] + lines[2:]), "an entry is missing or out of order", 2)
    # Remove the last line (the head file remembers it).
    check("".join(lines[:-1]), "the last entries were removed", 4)
    # Garbage line.
    check("".join([*lines[:2], "not json\n", *lines[2:]]), "line is not a log entry", 3)
    # Rewrite an entry and its hash consistently: the next link breaks.
    forged = json.loads(lines[1])
    forged["details"]["report_id"] = "forged"
    from custom_components.privacy_cam.engine.sharing.audit import _entry_hash

    forged["hash"] = _entry_hash(forged)
    check(
        "".join([lines[0], json.dumps(forged) + "\n", *lines[2:]]),
        "the link to the previous entry is broken",
        3,
    )
    # Back to the original: valid again. Appending to a broken chain never heals it.
    log.path.write_text(original)
    assert log.verify().valid
    log.path.write_text(original.replace('"r1"', '"rX"'))
    log.append("withdraw", report_id="r0")
    assert not log.verify().valid
    # Deleting the whole log (but not its head) is detected too.
    log.path.unlink()
    assert not log.verify().valid


# Destinations and consent text --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://reviewer.example/hook", None),
        ("http://127.0.0.1:8080/hook", None),
        ("http://localhost/hook", None),
        ("http://[::1]:9/x", None),
        ("http://reviewer.example/hook", "webhook_not_https"),
        ("http://192.168.1.5/hook", "webhook_not_https"),
        ("ftp://reviewer.example/x", "webhook_not_https"),
        ("https://user:pw@reviewer.example/hook", "invalid_webhook_url"),
        ("https://reviewer.example/hook#x", "invalid_webhook_url"),
        ("https://reviewer.example:99999/", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
    ],
)
def test_webhook_urls(url: str, error: str | None) -> None:
    if error is None:
        assert validate_webhook_url(url) == url
    else:
        with pytest.raises(DestinationError) as err:
            validate_webhook_url(url)
        assert err.value.key == error and err.value.field == "url"


@pytest.mark.parametrize(
    "field", ["recipient", "purpose", "humans_watch", "retention", "withdrawal"]
)
def test_destination_without_a_disclosure_field_is_unusable(field: str) -> None:
    values = {"humans_watch": None} if field == "humans_watch" else {field: "  "}
    destination = replace(_destination(), **values)  # type: ignore[arg-type]
    with pytest.raises(DestinationError) as err:
        destination.validate()
    assert err.value.key == "disclosure_missing" and err.value.field == field


def test_folder_destination_needs_an_absolute_path() -> None:
    _destination(DestinationKind.FOLDER, "/srv/handover").validate()
    with pytest.raises(DestinationError) as err:
        _destination(DestinationKind.FOLDER, "handover").validate()
    assert err.value.key == "folder_not_absolute"


def test_pseudonym_time_and_consent_text() -> None:
    secret = b"k" * 32
    name = pseudonym(secret, "dest1", "garden")
    assert name.startswith("camera-") and "garden" not in name
    assert name == pseudonym(secret, "dest1", "garden")  # stable for one recipient
    assert name != pseudonym(secret, "dest2", "garden")  # unlinkable across recipients
    assert name != pseudonym(b"x" * 32, "dest1", "garden")  # per install
    assert coarse_time(1764085385.7) == "2025-11-25T15:00:00Z"
    destination = _destination()
    hour = coarse_time(1764085385.7)
    consent = consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", destination)
    for needed in (
        "Acme Alarm Review",
        "Improve false-alarm detection",
        "WILL watch",
        "30 days",
        "privacy@acme.example",
        "ab" * 32,
        "choose Withdraw",
        "7.2 s",
        "between 15:00 and 16:00 UTC on 2025-11-25",
        "Consent text version 2.",
        "It goes to the web address https://reviewer.example/hook.",
    ):
        assert needed in consent.text
    # Any change in what is declared changes the hash consent refers to.
    changed = replace(destination, humans_watch=False)
    other = consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", changed)
    assert "no person will watch" in other.text and other.sha256 != consent.sha256
    # Declarations read as sentences whether or not the owner typed the full stop.
    assert "The recipient keeps it: 30 days." in consent.text
    assert "privacy@acme.example. Or choose" in consent.text
    # Where it goes is part of what is agreed: another URL or folder, another hash.
    moved = replace(destination, target="https://other.example/hook")
    assert consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", moved).sha256 != (
        consent.sha256
    )
    # A query (often a token) is not shown, but changing it still changes the text.
    tokened = replace(destination, target="https://reviewer.example/hook?token=s3cret")
    text = consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", tokened).text
    assert "s3cret" not in text and "hidden query, fingerprint" in text
    retokened = replace(destination, target="https://reviewer.example/hook?token=other")
    assert consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", retokened).text != text
    folder = replace(destination, kind=DestinationKind.FOLDER, target="/srv/handover")
    assert (
        "the folder /srv/handover on this computer"
        in consent_text("r1", "ab" * 32, name, hour, 7.25, "masks", folder).text
    )
    vague = consent_text("r1", "", name, "sometime", 1, "", changed)
    assert "recorded around sometime" in vague.text


# Report store -------------------------------------------------------------------------


def test_report_store_survives_restarts_and_drops_unfinished(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "reports")
    store.load()
    secret = store.secret()
    assert len(secret) == 32 and store.secret() == secret
    assert (tmp_path / "reports" / "secret").stat().st_mode & 0o077 == 0
    report = Report(new_report_id(), "c1", "garden", "d1", 1.0, 2.0, "p", "t", "h")
    store.save(report)
    store.clip_path(report.id).write_bytes(b"clip")
    store.report_path(report.id).write_bytes(b"{}")
    (tmp_path / "reports" / ("0" * 16)).mkdir()  # crashed while preparing
    (tmp_path / "reports" / "stray").mkdir()
    again = ReportStore(tmp_path / "reports")
    again.load()
    assert [r.id for r in again.all()] == [report.id]
    assert again.get(report.id) == report and again.has_package(report.id)
    assert not (tmp_path / "reports" / ("0" * 16)).exists()
    assert again.delete_package(report.id) and not again.delete_package(report.id)
    assert not again.has_package(report.id)
    with pytest.raises(ValueError):
        again.folder("../../etc")
    report.status = ReportStatus.WITHDRAWN
    assert not report.open


# Packages -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wide_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1280x720, 10 s, with an audio track and container metadata (which must go)."""
    path = tmp_path_factory.mktemp("pkg") / "wide.mp4"
    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "Garden camera at 12 Secret Street"
        video = out.add_stream("libx264", rate=Fraction(10))
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        background = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
        for index in range(100):
            image = background.copy()
            x = 100 + index * 8
            image[300:420, x : x + 80] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                out.mux(packet)
            samples = av.AudioFrame.from_ndarray(
                np.zeros((1, 1600), np.float32), format="fltp", layout="mono"
            )
            samples.sample_rate, samples.pts = 16000, index * 1600
            for packet in audio.encode(samples):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_package_is_trimmed_downscaled_silent_and_anonymous(
    wide_clip: Path, tmp_path: Path
) -> None:
    mask = ((0.0, 0.0), (0.25, 0.0), (0.25, 0.25), (0.0, 0.25))
    box = (0.3, 0.4, 0.6, 0.6)
    package = build_package(
        wide_clip, tmp_path / "p.mp4", (2.0, 6.0), Redaction(masks=(mask,), box=box), None
    )
    assert package.sha256 == sha256_file(package.path)
    assert (package.width, package.height) == (MAX_WIDTH, 360)
    assert abs(package.duration - 4.1) < 0.15 and 40 <= package.frames <= 42
    with av.open(str(package.path)) as container:
        assert len(container.streams) == 1 and container.streams.video[0].codec.name == "h264"
        assert "title" not in container.metadata and "encoder" not in container.metadata
    raw = package.path.read_bytes()
    assert b"Secret Street" not in raw and b"x264" not in raw and b"Lavf" not in raw
    frames = _frames(package.path)
    first = frames[0].astype(int)
    # Masked corner painted black.
    assert first[5:80, 5:150].max() < 20
    # Outside the motion region: 16-px blocks of one colour (pixelated), inside: detail.
    outside = first[200:216, 560:576]
    assert np.abs(outside - outside.mean(axis=(0, 1))).max() < 12
    inside = first[150:166, 300:316]
    assert inside.std() > 3 * outside.std()
    assert "privacy mask" in package.summary() and "NOT checked" in package.summary()


def test_package_without_region_or_window_keeps_everything(wide_clip: Path, tmp_path: Path) -> None:
    finder = load_face_finder()
    assert finder is not None
    package = build_package(wide_clip, tmp_path / "p.mp4", None, Redaction(), finder)
    assert "faces looked for, none found" in package.summary()
    assert abs(package.duration - 10.0) < 0.15 and not package.outside_blurred
    assert "whole picture" in package.summary() and "no masks" in package.summary()
    assert output_size(320, 240) == (320, 240) and output_size(1921, 1081) == (640, 360)


def test_package_errors_leave_nothing(wide_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(PackageError):
        build_package(wide_clip, tmp_path / "p.mp4", (50.0, 60.0), Redaction(), None)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(PackageError):
        build_package(bad, tmp_path / "q.mp4", None, Redaction(), None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]


def test_faces_are_pixelated_where_a_detector_exists(tmp_path: Path) -> None:
    """A real photo (opencv-doc's messi5.jpg) as a clip: the face is found and hidden."""
    finder = load_face_finder()
    assert finder is not None, "scripts/setup installs opencv-data and the contrib build"
    with av.open(str(DATA / "messi5.jpg")) as image_file:
        photo = next(image_file.decode(video=0)).to_ndarray(format="rgb24")
    faces = finder(photo.mean(axis=2).astype(np.uint8))
    assert faces, "the detector finds the face in the photo"
    x, y, w, h = faces[0]
    clip = tmp_path / "face.mp4"
    height, width = photo.shape[0] // 2 * 2, photo.shape[1] // 2 * 2
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(photo[:height, :width]), format="rgb24"
            )
            frame.pts = index
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    package = build_package(clip, tmp_path / "p.mp4", None, Redaction(blur_outside=False), finder)
    assert package.faces_checked and package.face_frames == package.frames == 10
    assert "faces pixelated in 10 of 10 frames" in package.summary()
    before = photo[y : y + h, x : x + w].astype(float)
    after = _frames(package.path)[5][y : y + h, x : x + w].astype(float)

    # Detail (differences between neighbouring pixels) is gone in the face only.
    def detail(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=1)).mean())

    assert detail(after) < detail(before) / 3
    assert not finder(_frames(package.path)[5].mean(axis=2).astype(np.uint8))


# Delivery ------------------------------------------------------------------------------


def test_webhook_gets_exact_bytes_and_the_deletion_request() -> None:
    clip, report = b"\x00clip bytes\xff" * 100000, b'{"report_id": "r1"}'
    webhook = DestinationKind.WEBHOOK
    with webhook_server() as hook:
        outcome = senders.send(webhook, hook.url, "r1", report, clip)
        assert outcome.ok and outcome.status == 200
        got = hook.received[0]
        assert got.method == "POST" and got.path == "/hook"
        assert got.files["clip"] == ("clip.mp4", "video/mp4", clip)
        assert got.files["report"] == ("report.json", "application/json", report)
        assert senders.withdraw(webhook, hook.url, "r1").ok
        assert (hook.received[1].method, hook.received[1].path) == ("DELETE", "/hook/r1")
        # A URL with a query: the report ID goes into the path, the query stays a query.
        assert senders.withdraw(webhook, hook.url + "/?token=t1&x=2", "r1").ok
        assert hook.received[2].path == "/hook/r1?token=t1&x=2"
        hook.status = 503
        failed = senders.send(webhook, hook.url, "r2", report, clip)
        assert not failed.ok and failed.status == 503 and failed.detail == "HTTP 503"
        hook.status = 302  # a redirect is not followed anywhere
        assert not senders.send(webhook, hook.url, "r3", report, clip).ok
        assert len(hook.received) == 5
    unreachable = senders.send(webhook, hook.url, "r4", report, clip)
    assert not unreachable.ok and unreachable.status is None
    assert "127.0.0.1" not in unreachable.detail


def test_deletion_url_keeps_the_query() -> None:
    assert senders.deletion_url("https://a.example/hook?k=v", "r1") == (
        "https://a.example/hook/r1?k=v"
    )
    assert senders.deletion_url("https://a.example/", "r1") == "https://a.example/r1"


@pytest.mark.parametrize("behaviour", ["silent", "trickle"])
def test_one_deadline_for_a_whole_send(behaviour: str) -> None:
    """A recipient that never answers, or answers one byte at a time, cannot hold a
    send past its deadline."""
    with slow_server(behaviour) as url:
        started = time.monotonic()
        outcome = senders.send(DestinationKind.WEBHOOK, url, "r1", b"{}", b"x" * 10, deadline=1.5)
        took = time.monotonic() - started
    assert not outcome.ok and outcome.detail == "deadline exceeded"
    assert 1.4 < took < 4


def test_folder_delivery_and_withdrawal(tmp_path: Path) -> None:
    folder_kind = DestinationKind.FOLDER
    target = str(tmp_path / "handover")
    (tmp_path / "handover").mkdir()
    assert senders.send(folder_kind, target, "r1", b"{}", b"clip").ok
    assert (tmp_path / "handover" / "r1" / "clip.mp4").read_bytes() == b"clip"
    assert (tmp_path / "handover" / "r1" / "report.json").read_bytes() == b"{}"
    assert senders.withdraw(folder_kind, target, "r1").detail == "deleted"
    assert not (tmp_path / "handover" / "r1").exists()
    assert senders.withdraw(folder_kind, target, "r1").detail == "already gone"
    (tmp_path / "blocked").write_text("a file, not a folder")
    assert not senders.send(folder_kind, str(tmp_path / "blocked"), "r1", b"{}", b"clip").ok


def test_folder_problem_follows_symlinks(tmp_path: Path) -> None:
    www, media, allowed = tmp_path / "www", tmp_path / "media", tmp_path / "share"
    for folder in (www, media, allowed):
        folder.mkdir()
    (allowed / "handover").mkdir()
    (allowed / "sneaky").symlink_to(www)
    (allowed / "pictures").symlink_to(media)
    published = [www, media]
    assert folder_problem(allowed / "handover", published, [allowed, www]) is None
    assert folder_problem(www, published, [allowed, www]) == "folder_is_published"
    assert folder_problem(www / "sub", published, [allowed, www]) == "folder_is_published"
    assert folder_problem(allowed / "sneaky", published, [allowed, www]) == "folder_is_published"
    assert folder_problem(allowed / "pictures", published, [allowed]) == "folder_is_published"
    (allowed / "out").symlink_to(tmp_path)
    assert folder_problem(allowed / "out", published, [allowed]) == "folder_not_allowed"
    assert folder_problem(Path("/etc"), published, [allowed]) == "folder_not_allowed"


def test_audit_chain_survives_line_separators(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 in a recipient or purpose are text, not line ends."""
    log = AuditLog(tmp_path / "audit.log")
    log.append("prepare", recipient="Acme\u2028Review", purpose="a\u2029b\u0085c\x1cd")
    log.append("consent", recipient="Acme\u2028Review")
    entries, status = log.read()
    assert status.valid, status
    assert entries[0]["details"]["recipient"] == "Acme\u2028Review"
    assert len(log.path.read_text().split("\n")) == 3
    # A log written by 0.5.0 (raw separators in the file) still reads as two entries.
    raw = "\n".join(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in entries) + "\n"
    assert "\u2028" in raw
    log.path.write_text(raw)
    assert log.verify().valid


def test_audit_torn_last_line_is_repaired_and_recorded(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.append("prepare")
    log.append("consent")
    assert log.repair() is None  # nothing to do
    with log.path.open("a") as file:
        file.write('{"seq": 3, "action": "se')  # crash in the middle of a line
    assert not log.verify().valid
    entry = log.repair()
    assert entry is not None and entry["action"] == "log_repaired"
    assert entry["details"]["torn_bytes"] == len('{"seq": 3, "action": "se')
    entries, status = log.read()
    assert status.valid and [e["action"] for e in entries] == ["prepare", "consent", "log_repaired"]
    # The line reached the disk but the head did not (crash between the two writes).
    head = log.head_path.read_text()
    log.append("send")
    log.head_path.write_text(head)
    assert not log.verify().valid
    moved = log.repair()
    assert moved is not None and moved["details"]["head_moved"] is True
    assert log.verify().valid
    # Removing the last line is still tampering, not a crash.
    lines = log.path.read_text().split("\n")
    log.path.write_text("\n".join(lines[:-2]) + "\n")
    assert log.repair() is None and not log.verify().valid


def test_audit_anchor_catches_deleted_or_replaced_logs(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    first = log.append("prepare")
    log.append("consent")
    seq, digest = log.last()
    assert seq == 2 and log.check_anchor(seq, digest, log.verify()).valid
    log.path.unlink()
    log.head_path.unlink()
    status = log.verify()
    assert status.valid  # the two files alone cannot tell
    assert log.check_anchor(seq, digest, status).problem == "the log was deleted or cut short"
    log.append("prepare", forged=True)
    log.append("consent", forged=True)
    assert log.check_anchor(seq, digest, log.verify()).problem == "the log was replaced"
    assert log.check_anchor(1, first["hash"], log.verify()).problem == "the log was replaced"


def test_audit_log_survives_garbage(tmp_path: Path) -> None:
    """Lines that are not entries break the chain but never stop the trail."""
    log = AuditLog(tmp_path / "audit.log")
    log.path.write_text("garbage\n[1, 2]\n")
    entry = log.append("prepare")
    assert entry["seq"] == 1 and entry["prev"] == GENESIS
    entries, status = log.read()
    assert [e["action"] for e in entries] == ["prepare"]
    assert not status.valid and status.line == 1
    log.path.write_text("")
    log.head_path.write_text("not json")
    assert not log.verify().valid
    log.path.unlink()
    log.head_path.unlink()
    assert log.verify().valid and log.verify().as_dict()["entry_count"] == 0


def test_no_face_finder_without_opencv_or_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from custom_components.privacy_cam.engine.sharing import faces

    monkeypatch.setattr(faces, "MODEL_DIRS", ())
    # OpenCV 5 wheels (this environment) ship no cascade files of their own.
    assert faces.load_face_finder() is None
    fake = types.ModuleType("cv2")  # an OpenCV build without the classifier
    monkeypatch.setitem(sys.modules, "cv2", fake)
    assert faces.load_face_finder() is None
    monkeypatch.setitem(sys.modules, "cv2", None)  # no OpenCV at all (HA OS)
    assert faces.load_face_finder() is None


def test_withdraw_reports_what_stops_it(tmp_path: Path) -> None:
    """A folder copy that cannot be removed, and an HTTPS recipient that is not there, are
    failures with a reason (never a silent success)."""
    (tmp_path / "0123456789abcdef").write_text("a file where the report folder was")
    outcome = senders.withdraw(DestinationKind.FOLDER, str(tmp_path), "0123456789abcdef")
    assert not outcome.ok and outcome.detail
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"https://127.0.0.1:{port}/hook"
    outcome = senders.withdraw(DestinationKind.WEBHOOK, url, "0123456789abcdef", deadline=2)
    assert not outcome.ok
