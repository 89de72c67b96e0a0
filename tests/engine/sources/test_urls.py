"""URL handling: credentials kept apart and never shown."""

import pytest

from custom_components.privacy_cam.engine.sources.errors import ErrorKind, SourceError
from custom_components.privacy_cam.engine.sources.urls import (
    REDACTED,
    camera_name,
    normalise_url,
    redact_url,
    restore_redacted,
    scrub,
    shown_url,
    split_credentials,
    validate_url,
    with_credentials,
)

RTSP = frozenset({"rtsp", "rtsps"})


def test_split_credentials() -> None:
    assert split_credentials(" rtsp://us%40er:p%3Ass@Cam.local:8554/live?x=1 ") == (
        "rtsp://cam.local:8554/live?x=1",
        "us@er",
        "p:ss",
    )
    assert split_credentials("rtsp://cam/live") == ("rtsp://cam/live", None, None)
    assert split_credentials("rtsp://u@[fe80::1]:554/s") == ("rtsp://[fe80::1]:554/s", "u", None)


def test_with_credentials_quotes_and_round_trips() -> None:
    url = with_credentials("rtsp://cam:554/s", "us@er", "p:/ss")
    assert url == "rtsp://us%40er:p%3A%2Fss@cam:554/s"
    assert split_credentials(url) == ("rtsp://cam:554/s", "us@er", "p:/ss")
    assert with_credentials("rtsp://cam/s", None, "x") == "rtsp://cam/s"
    assert with_credentials("rtsp://cam/s", "user", None) == "rtsp://user@cam/s"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cam/x",
        "rtsp://",
        "rtsp://cam:99999/x",
        "not a url",
        "http://cam/x",
        "rtsp://cam:abc/",
    ],
)
def test_validate_url_rejects(url: str) -> None:
    with pytest.raises(SourceError) as err:
        validate_url(url, RTSP)
    assert err.value.kind is ErrorKind.INVALID_URL
    assert str(err.value).startswith("invalid_url: ")


def test_validate_url_accepts() -> None:
    assert validate_url(" RTSPS://cam:322/x ", RTSP) == "RTSPS://cam:322/x"


def test_redact_url() -> None:
    redacted = redact_url("http://bob:hunter2@cam/cgi?user=bob&pwd=hunter2&channel=1&token=abc")
    assert "hunter2" not in redacted and "bob" not in redacted and "abc" not in redacted
    assert "channel=1" in redacted and redacted.startswith(f"http://{REDACTED}@cam/")
    assert redact_url("rtsp://cam/x") == "rtsp://cam/x"
    # Unparseable URLs still lose their userinfo.
    assert redact_url("rtsp://u:p@cam:bad/x") == f"rtsp://{REDACTED}@cam:bad/x"


def test_scrub() -> None:
    text = "Server returned 401 for 'rtsp://admin:pa ss@1.2.3.4/x' pa%20ss pa ss"
    cleaned = scrub(text, "pa ss", None)
    assert "pa ss" not in cleaned and "pa%20ss" not in cleaned and "admin" not in cleaned


def test_normalise_url() -> None:
    assert normalise_url("RTSP://u:p@Cam.LOCAL:554/Live?b=2&a=1&password=x") == (
        "rtsp://cam.local/Live?a=1&b=2"
    )
    assert normalise_url("http://cam:8080") == "http://cam:8080/"
    assert normalise_url("http://[FE80::1]:80/x") == "http://[fe80::1]/x"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("rtsp://u:p@192.168.1.20:554/Streaming/Channels/201", "192.168.1.20 channel 2"),
        ("rtsp://192.168.1.20/Streaming/Channels/102", "192.168.1.20 channel 1 stream 2"),
        ("rtsp://192.168.1.20/ch/3", "192.168.1.20 /ch/3"),
        ("rtsp://192.168.1.20/channel/3", "192.168.1.20 channel 3"),
        ("http://nvr/cam/realmonitor?channel=2&subtype=0", "nvr channel 2"),
        ("rtsp://192.168.1.20/stream2?token=secret", "192.168.1.20 /stream2"),
        ("http://192.168.1.20:8080/", "192.168.1.20:8080"),
        ("rtsp://[fe80::1]:8554/live", "[fe80::1]:8554 /live"),
        ("http://cam/" + "a" * 60, "cam …" + "a" * 39),
    ],
)
def test_camera_names(url: str, name: str) -> None:
    assert camera_name(url) == name


def test_shown_url_hides_userinfo_and_secret_values() -> None:
    typed = "rtsp://admin:Pw-1@cam:554/live?token=Tok-2&channel=1"
    shown = shown_url(typed)
    assert shown == f"rtsp://cam:554/live?token={REDACTED}&channel=1"
    assert restore_redacted(shown, typed) == "rtsp://cam:554/live?token=Tok-2&channel=1"
    # Nothing to restore, or nothing to restore from.
    assert restore_redacted("rtsp://cam/live", typed) == "rtsp://cam/live"
    assert restore_redacted(shown, None) == shown
    assert restore_redacted(shown, "rtsp://cam/other") == shown  # no such value there
    broken = f"http://[::1/x?token={REDACTED}"
    assert restore_redacted(broken, typed) == broken
    assert shown_url("rtsp://admin:Pw-1@cam:99999/x") == "rtsp://cam:99999/x"


@pytest.mark.parametrize(
    ("url", "secret", "kept"),
    [
        # UniFi Protect: the RTSPS path is the access token.
        ("rtsps://192.168.1.1:7441/Xk3pQ9sLmN2vB7tR?enableSrtp", "Xk3pQ9sLmN2vB7tR", "?enableSrtp"),
        # Dahua-style credentials in the path.
        (
            "rtsp://192.168.1.30/user=admin_password=hunter2_channel=1_stream=0.sdp",
            "hunter2",
            "channel=1_stream=0.sdp",
        ),
        ("http://192.168.1.40/cgi-bin/snapshot.cgi;pwd=hunter2", "hunter2", "snapshot.cgi;pwd="),
    ],
)
def test_secrets_in_url_paths_are_redacted_everywhere(url: str, secret: str, kept: str) -> None:
    """Diagnostics (redact_url), log lines (scrub) and the suggested name never carry a
    credential that sits in the path."""
    assert secret not in redact_url(url) and kept in redact_url(url)
    logged = scrub(f"Could not open {url}: Connection refused")
    assert secret not in logged and logged.endswith(": Connection refused")
    assert secret not in camera_name(url) and "password" not in camera_name(url)


def test_ordinary_paths_are_left_alone() -> None:
    for url in (
        "rtsp://192.168.1.20:554/h264Preview_01_main",
        "rtsp://192.168.1.20/cam/realmonitor?channel=1&subtype=0",
        "http://192.168.1.20/axis-cgi/mjpg/video.cgi",
        "rtsp://192.168.1.20/MediaInput/h264/stream_1",
    ):
        assert redact_url(url) == url
    assert camera_name("rtsp://192.168.1.20:554/h264Preview_01_main") == (
        "192.168.1.20 /h264Preview_01_main"
    )
