"""Camera URL handling: keep credentials apart from URLs and out of every text."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .errors import ErrorKind, SourceError

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
# Query parameters that carry secrets in the wild (Hikvision, Dahua, Foscam, tokens).
SECRET_QUERY_KEYS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authbasic",
        "key",
        "pass",
        "passwd",
        "password",
        "pwd",
        "sig",
        "signature",
        "token",
        "user",
        "username",
        "usr",
    }
)
REDACTED = "**REDACTED**"
_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
# Secrets in the path: `key=value` pieces (Dahua-style `user=admin_password=x_channel=1`,
# `;pwd=x`) and whole segments that look like access tokens (UniFi Protect's RTSPS path:
# 12+ letters and digits, mixing upper case, lower case and digits).
_PATH_SECRET_RE = re.compile(
    r"(?P<key>(?:" + "|".join(sorted(SECRET_QUERY_KEYS, key=len, reverse=True)) + r"))="
    r"(?P<value>[^_/;&?#]*)",
    re.IGNORECASE,
)
_PATH_TOKEN_RE = re.compile(
    r"(?<![^/])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])"
    r"(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{12,}(?![^/])"
)
_QUERY_SECRET_RE = re.compile(
    r"(?<![^&;])((?:" + "|".join(sorted(SECRET_QUERY_KEYS, key=len, reverse=True)) + r"))"
    r"=[^&;#]*",
    re.IGNORECASE,
)
_URL_IN_TEXT_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_path(path: str) -> str:
    """The path with secret-looking pieces replaced by REDACTED."""
    path = _PATH_SECRET_RE.sub(lambda m: f"{m.group('key')}={REDACTED}", path)
    return _PATH_TOKEN_RE.sub(REDACTED, path)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Return the URL without userinfo, plus the username and password it carried."""
    parts = urlsplit(url.strip())
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), username, password


def validate_url(url: str, schemes: frozenset[str]) -> str:
    """Check scheme and host; return the URL stripped of whitespace."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise SourceError(ErrorKind.INVALID_URL, "malformed URL") from err
    if parts.scheme.lower() not in schemes:
        raise SourceError(
            ErrorKind.INVALID_URL,
            f"scheme must be one of {', '.join(sorted(schemes))}",
        )
    if not parts.hostname or (port is not None and not 0 < port < 65536):
        raise SourceError(ErrorKind.INVALID_URL, "URL has no valid host")
    return url


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Inject credentials into a URL at connect time (never store the result)."""
    if not username:
        return url
    parts = urlsplit(url)
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def redact_url(url: str) -> str:
    """Return the URL with userinfo and secret-looking query values redacted."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return _USERINFO_RE.sub(rf"\g<scheme>{REDACTED}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    # The query as it was, secret values replaced (a bare `?enableSrtp` stays bare).
    query = _QUERY_SECRET_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, path=redact_path(parts.path), query=query))


def scrub(text: str, *secrets: str | None) -> str:
    """Remove credentials from free text such as library error messages."""
    for secret in secrets:
        if secret:
            text = text.replace(quote(secret, safe=""), REDACTED)
            text = text.replace(secret, REDACTED)
    # After the secrets: "user:**REDACTED**@" then loses its username too.
    text = _USERINFO_RE.sub(rf"\g<scheme>{REDACTED}@", text)
    # URLs quoted in library messages lose path tokens and secret query values too.
    return _URL_IN_TEXT_RE.sub(_redact_found_url, text)


def _redact_found_url(match: re.Match[str]) -> str:
    url = match.group(0)
    body = url.rstrip(".,:;)]}")  # sentence punctuation after a URL is not part of it
    return redact_url(body) + url[len(body) :]


def normalise_url(url: str) -> str:
    """Identity of a camera stream: no credentials, no default port, sorted query."""
    bare, _, _ = split_credentials(url)
    parts = urlsplit(bare)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key.lower() not in SECRET_QUERY_KEYS
        )
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def shown_url(url: str) -> str:
    """A URL fit to show back in a form: no userinfo at all, secret query values
    replaced by REDACTED (`restore_redacted` puts them back when the form returns)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return _USERINFO_RE.sub(r"\g<scheme>", url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode(
        [
            (key, REDACTED if key.lower() in SECRET_QUERY_KEYS else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def restore_redacted(url: str, *originals: str | None) -> str:
    """Put back the secret query values `shown_url` hid, each from the first of
    `originals` (URLs typed or stored before) that has it."""
    if REDACTED not in url:
        return url
    secrets: dict[str, str] = {}
    try:
        parts = urlsplit(url)
        for original in reversed([o for o in originals if o]):
            secrets |= dict(parse_qsl(urlsplit(original).query, keep_blank_values=True))
    except ValueError:
        return url
    query = urlencode(
        [
            (key, secrets.get(key, value) if value == REDACTED else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit(parts._replace(query=query))


CHANNEL_QUERY_KEYS = ("channel", "chn", "ch", "camera", "cam")
_CHANNEL_PATH_RE = re.compile(r"/channels?/(\d+)", re.IGNORECASE)
MAX_NAME_PATH = 40


def camera_name(url: str) -> str:
    """A name a person can tell apart from the camera's other streams and channels:
    host (and port when not the default), then the channel or the path.

    "192.168.1.20 channel 2" (Dahua ?channel=2, Hikvision /Streaming/Channels/201),
    "192.168.1.20 /stream2", or the host alone for a bare address. No query values other
    than a channel number, and never credentials.
    """
    bare, _, _ = split_credentials(url)
    parts = urlsplit(bare)
    host = parts.hostname or bare
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port not in (None, DEFAULT_PORTS.get(parts.scheme.lower())):
        host = f"{host}:{parts.port}"
    for key, value in parse_qsl(parts.query):
        if key.lower() in CHANNEL_QUERY_KEYS and value.isdigit():
            return f"{host} channel {int(value)}"
    if match := _CHANNEL_PATH_RE.search(parts.path):
        number = int(match.group(1))
        if number >= 100:  # Hikvision: channel * 100 + stream (101 main, 102 sub)
            channel, stream = divmod(number, 100)
            return f"{host} channel {channel}" + (f" stream {stream}" if stream > 1 else "")
        return f"{host} channel {number}"
    path = unquote(parts.path).rstrip("/")
    if not path or redact_path(path) != path:  # a path that carries a secret names nothing
        return host
    if len(path) > MAX_NAME_PATH:
        path = "…" + path[-(MAX_NAME_PATH - 1) :]
    return f"{host} {path}"


# Substreams: a camera's second, smaller stream of the same picture ------------------


def _case_like(word: str, like: str) -> str:
    """`word` in the letter case of `like` (main → sub, Main → Sub, MAIN → SUB)."""
    if like.isupper():
        return word.upper()
    if like[:1].isupper():
        return word.capitalize()
    return word


def _hikvision_channel(match: re.Match[str]) -> str:
    """Hikvision numbers a stream channel * 100 + stream: 101 main, 102 sub; old
    firmware (and some OEMs) 1 main, 2 sub."""
    number = int(match.group(2))
    if number == 1:
        return f"{match.group(1)}2"
    if number >= 100 and number % 100 == 1:
        return f"{match.group(1)}{number + 1}"
    return match.group(0)


# (what it matches, replacement) on the URL's path, most specific first. From the
# vendors' RTSP documentation and the URL lists Frigate, Blue Iris and iSpy publish.
_PATH_SUBSTREAMS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # Reolink: /h264Preview_01_main → _sub (an H.265 main has an H.264 sub), /Preview_01_main.
    (re.compile(r"(h26[45]Preview_\d+_)main\b", re.I), r"\1sub"),
    (re.compile(r"h265(Preview_\d+_)main\b", re.I), r"h264\1sub"),
    (re.compile(r"(/Preview_\d+_)main\b", re.I), r"\1sub"),
    # Hikvision and OEMs (Annke, LTS, some Swann): /Streaming/Channels/101 → 102,
    # /ISAPI/Streaming/channels/101; older /h264/ch1/main/av_stream → /sub/.
    (re.compile(r"(/streaming/channels/)(\d+)(?=/|$)", re.I), _hikvision_channel),
    (re.compile(r"(/h26[45]/ch\d+/)main(?=/|$)", re.I), r"\1sub"),
    # Uniview and Sony: /media/video1 → video2; Uniview /unicast/c1/s0/live → s1.
    (re.compile(r"(/media/video)1(?=/|$)", re.I), r"\g<1>2"),
    (re.compile(r"(/unicast/c\d+/s)0(?=/)", re.I), r"\g<1>1"),
    # Vivotek: /live.sdp → /live2.sdp.
    (re.compile(r"/live\.sdp$", re.I), "/live2.sdp"),
    # XMeye/Sofia (many unbranded DVRs): ...&channel=1&stream=0.sdp → stream=1.sdp.
    (re.compile(r"(stream=)0(\.sdp)", re.I), r"\g<1>1\2"),
    # Unbranded (Jooan, Yi hacks, Anyka): /ch0_0.264 → /ch0_1.264, /live/ch00_0 → ch00_1.
    (re.compile(r"(ch\d+_)0(\.h?26[45])", re.I), r"\g<1>1\2"),
    (re.compile(r"(/ch\d+_)0$", re.I), r"\g<1>1"),
    # Foscam: /videoMain → /videoSub.
    (re.compile(r"(video)Main\b"), r"\1Sub"),
    # INSTAR: /11 full size, /12 smaller.
    (re.compile(r"^/11$"), "/12"),
    # TP-Link Tapo and many others: /stream1 → /stream2.
    (re.compile(r"(stream)1(?![0-9])", re.I), r"\g<1>2"),
    # Generic: a path word "main" (/live/main, /ch1/main, _main) → "sub".
    (
        re.compile(r"(?<![A-Za-z])main(?![A-Za-z])", re.I),
        lambda m: _case_like("sub", m.group(0)),
    ),
)
# The same on the URL's query, matched against whole `key=value` pieces.
_QUERY_SUBSTREAMS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # Dahua, Amcrest, Lorex: /cam/realmonitor?channel=1&subtype=0 → subtype=1.
    (re.compile(r"(?<![^&;])(subtype=)0(?![^&;])", re.I), r"\g<1>1"),
    # XMeye in the query: ?...&stream=0.sdp.
    (re.compile(r"(?<![^&;])(stream=)0(\.sdp)?(?![^&;])", re.I), r"\g<1>1\2"),
    # Bosch: ?inst=1 → inst=2.
    (re.compile(r"(?<![^&;])(inst=)1(?![^&;])", re.I), r"\g<1>2"),
    # TVT, Milesight and others: ?streamtype=main / ?stream=main → sub.
    (
        re.compile(r"(?<![^&;])([a-z_]*=)(main)(?![^&;])", re.I),
        lambda m: m.group(1) + _case_like("sub", m.group(2)),
    ),
)
_DAHUA_PATH_RE = re.compile(r"/cam/realmonitor$", re.I)


def substream_candidates(url: str) -> list[str]:
    """Likely URLs of the camera's substream (smaller, same picture) for a main-stream
    URL, most likely first; empty when no known pattern matches.

    Only the path and query change: same scheme, host and port, and whatever
    credentials the URL carries stay exactly as they were (so log a candidate only
    through `redact_url`, like any camera URL). Probe them before offering one.
    """
    try:
        parts = urlsplit(url.strip())
        _ = parts.port
    except ValueError:
        return []
    found: list[str] = []

    def offer(path: str, query: str) -> None:
        candidate = urlunsplit(parts._replace(path=path, query=query))
        if candidate != url.strip() and candidate not in found:
            found.append(candidate)

    for pattern, replacement in _QUERY_SUBSTREAMS:
        query = pattern.sub(replacement, parts.query, count=1)
        if query != parts.query:
            offer(parts.path, query)
    if _DAHUA_PATH_RE.search(parts.path) and not re.search(
        r"(?<![^&;])subtype=", parts.query, re.I
    ):  # Dahua without a subtype means the main stream
        offer(parts.path, f"{parts.query}&subtype=1" if parts.query else "subtype=1")
    for pattern, replacement in _PATH_SUBSTREAMS:
        path = pattern.sub(replacement, parts.path, count=1)
        if path != parts.path:
            offer(path, parts.query)
    return found
