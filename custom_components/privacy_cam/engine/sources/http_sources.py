"""Sources that speak HTTP: MJPEG multipart streams and polled snapshots."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import IO
from urllib.parse import urlsplit

from .errors import ErrorKind, SourceError
from .frames import JpegFrame, StreamInfo
from .jpeg import (
    DEFAULT_RGB_WIDTH,
    JPEG_SOI,
    ImageDecoder,
    ImageTooLarge,
    RgbImage,
    encode_jpeg,
    to_rgb,
)
from .source import Source, SourceConfig
from .urls import DEFAULT_PORTS, scrub

MAX_PART_BYTES = 16 * 1024 * 1024
MAX_HEADER_LINES = 64
USER_AGENT = "PrivacyCam"


class RedirectElsewhere(urllib.error.URLError):
    """A redirect to another host or port: not followed (it could take the login along,
    or point a camera entry at any machine)."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


class SameOriginRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same scheme, host and port."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            raise RedirectElsewhere("redirected to another host or port")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener(config: SourceConfig) -> urllib.request.OpenerDirector:
    """An opener that answers basic and digest challenges with the configured login.

    Blocking (an HTTPS handler loads the CA store): call it on a worker thread.
    """
    handlers: list[urllib.request.BaseHandler] = [SameOriginRedirectHandler()]
    if config.username:
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, config.url, config.username, config.password or "")
        handlers += [
            urllib.request.HTTPBasicAuthHandler(manager),
            urllib.request.HTTPDigestAuthHandler(manager),
        ]
    if config.url.startswith("https") and not config.verify_ssl:
        # Verifies nothing, so it needs no CA store (loading one would block the caller).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    # No ProxyHandler: frames must go straight from the camera to this box.
    handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def http_error(err: BaseException, config: SourceConfig) -> SourceError:
    """Classify an HTTP failure without echoing URLs or credentials."""
    if isinstance(err, urllib.error.HTTPError):
        if err.code in (401, 403):
            return SourceError(ErrorKind.INVALID_AUTH, f"the camera answered HTTP {err.code}")
        if err.code in (404, 406, 415):
            return SourceError(ErrorKind.NO_VIDEO, f"the camera answered HTTP {err.code}")
        return SourceError(ErrorKind.CANNOT_CONNECT, f"the camera answered HTTP {err.code}")
    if isinstance(err, ValueError):  # urllib rejects the URL itself
        return SourceError(ErrorKind.INVALID_URL, "malformed URL")
    if isinstance(err, RedirectElsewhere):
        return SourceError(ErrorKind.REDIRECTED, "the camera redirected to another host or port")
    timeout = f"{config.connect_timeout:g} s"
    if isinstance(err, TimeoutError):
        # Raised as is (not wrapped in URLError) once connected: it accepted, then silence.
        return SourceError(
            ErrorKind.NO_ANSWER, f"the camera accepted the connection but sent nothing in {timeout}"
        )
    reason = getattr(err, "reason", err)
    if isinstance(reason, ConnectionRefusedError):
        return SourceError(ErrorKind.CONNECTION_REFUSED, "the camera refused the connection")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return SourceError(ErrorKind.NO_ANSWER, f"nothing answered within {timeout}")
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return SourceError(ErrorKind.CANNOT_CONNECT, scrub(text, *config.secrets))


class _HttpSource(Source):
    """Shared HTTP plumbing: open with auth, and cut the socket on stop."""

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        # Built on the worker thread: an HTTPS opener loads the CA store (blocking I/O),
        # and sources are created on Home Assistant's event loop.
        self._opener: urllib.request.OpenerDirector | None = None
        self._response: http.client.HTTPResponse | None = None
        self._response_lock = threading.Lock()
        self._decoder = ImageDecoder()
        self._lowres_chosen = False

    def _open(self) -> http.client.HTTPResponse:
        # Scheme checked by validate_url: only http and https reach this point.
        request = urllib.request.Request(  # noqa: S310
            self.config.url, headers={"User-Agent": USER_AGENT}
        )
        if self._opener is None:
            self._opener = build_opener(self.config)
        try:
            response = self._opener.open(request, timeout=self.config.connect_timeout)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as err:
            raise http_error(err, self.config) from None
        with self._response_lock:
            self._response = response
        self._answered = True
        if self._stopping:
            self._interrupt()
        return response  # type: ignore[no-any-return]

    def _interrupt(self) -> None:
        # Shutting the socket down wakes a thread blocked in recv() at once.
        with self._response_lock:
            response = self._response
        if response is None:
            return
        try:
            sock = response.fp.raw._sock  # type: ignore[attr-defined]
            sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass

    def _close_response(self, response: http.client.HTTPResponse) -> None:
        with self._response_lock:
            self._response = None
        response.close()

    def _handle_image(self, data: bytes, now: float) -> None:
        """Decode a still for analysis (at reduced resolution when it is large)."""
        try:
            self._decode_image(data, now)
        except ImageTooLarge as err:
            raise self._oversized(err.message) from None

    def _decode_image(self, data: bytes, now: float) -> None:
        if not self._lowres_chosen:
            frame = self._decoder.decode(data)
            if frame.height // self.config.analysis_height >= 2 and data.startswith(JPEG_SOI):
                # JPEG decodes at 1/2, 1/4 or 1/8 size almost for free: analysis
                # frames never need the full picture.
                ratio = frame.height // self.config.analysis_height
                self._decoder = ImageDecoder(lowres=min(3, ratio.bit_length() - 1))
            self._set_info(StreamInfo(codec="mjpeg", width=frame.width, height=frame.height))
            self._lowres_chosen = True
        else:
            frame = self._decoder.decode(data)
        is_jpeg = data.startswith(JPEG_SOI)
        self._emit_frame(frame, now, jpeg=data if is_jpeg else None)
        if is_jpeg and self._jpeg_callbacks:
            self._emit_jpeg(JpegFrame(data, time.time()))

    def still_jpeg(self, width: int | None = None) -> bytes | None:
        with self._lock:
            raw = self._latest_jpeg
        if raw is None or width is None or self.info is None or width >= self.info.width:
            return raw if raw is not None else super().still_jpeg(width)
        # The analysis decode is reduced; decode the camera's JPEG again at full size.
        return encode_jpeg(ImageDecoder().decode(raw), width)

    def still_rgb(self, max_width: int = DEFAULT_RGB_WIDTH) -> RgbImage | None:
        """In colour: the analysis decode when it is wide enough, else the camera's JPEG
        decoded again, at the smallest reduced size (1/2, 1/4, 1/8: almost free) that is
        still `max_width` wide, or at full size."""
        with self._lock:
            raw, frame = self._latest_jpeg, self._latest_frame
        info = self.info
        if (
            raw is None
            or frame is None
            or info is None
            or frame.width >= min(max_width, info.width)
        ):
            return super().still_rgb(max_width)
        lowres = 0
        while lowres < 3 and info.width >> (lowres + 1) >= max_width:
            lowres += 1
        return to_rgb(ImageDecoder(lowres).decode(raw), max_width)


class MjpegSource(_HttpSource):
    """A multipart/x-mixed-replace stream of JPEGs."""

    def _run_session(self) -> None:
        response = self._open()
        try:
            content_type = response.headers.get("Content-Type", "")
            boundary = _boundary(content_type)
            if boundary is None:
                raise SourceError(
                    ErrorKind.NO_VIDEO, f"not an MJPEG stream (Content-Type {content_type[:60]!r})"
                )
            # stop() shuts the socket down, which ends this loop at once.
            for part in iter_parts(response, boundary, self._oversized):
                if not part.startswith(JPEG_SOI):
                    raise SourceError(ErrorKind.NO_VIDEO, "stream part is not a JPEG image")
                self._handle_image(part, time.monotonic())
        except (OSError, http.client.HTTPException) as err:
            # Ignored by _run when stopping.
            error = http_error(err, self.config)
            if self._streamed:  # it had been streaming: a lost stream, whatever the cause
                raise SourceError(
                    ErrorKind.CANNOT_CONNECT, f"lost the stream ({error.message})"
                ) from None
            raise error from None
        finally:
            self._close_response(response)


class SnapshotSource(_HttpSource):
    """Polls a still-image URL (or a fetch callable) every `snapshot_interval` seconds."""

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config)
        self._fetch: Callable[[], bytes] = config.fetch or self._fetch_url

    def _fetch_url(self) -> bytes:
        response = self._open()
        try:
            data = response.read(MAX_PART_BYTES + 1)
            if len(data) > MAX_PART_BYTES:
                raise self._oversized(f"picture too large (over {MAX_PART_BYTES} bytes)")
            if response.length:
                # FFmpeg would decode half a JPEG; its missing half would look like motion.
                raise SourceError(ErrorKind.CANNOT_CONNECT, "the picture was cut off")
            return data
        except (OSError, http.client.HTTPException) as err:
            raise http_error(err, self.config) from None
        finally:
            self._close_response(response)

    def _run_session(self) -> None:
        interval = self.config.snapshot_interval
        next_poll = time.monotonic()
        while not self._stopping:
            data = self._fetch()
            self._handle_image(data, time.monotonic())
            next_poll = max(next_poll + interval, time.monotonic())
            self._stop.wait(max(0.0, next_poll - time.monotonic()))


def _boundary(content_type: str) -> bytes | None:
    if "multipart" not in content_type.lower():
        return None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip().strip('"').lstrip("-").encode()
    return None


def _too_large(what: str) -> SourceError:
    return SourceError(ErrorKind.NO_VIDEO, what)


def iter_parts(
    stream: IO[bytes], boundary: bytes, oversized: Callable[[str], SourceError] = _too_large
) -> Iterator[bytes]:
    """Yield the bodies of a multipart stream, by Content-Length when given.

    A part over MAX_PART_BYTES is refused through `oversized` (which counts it).
    """
    marker = b"--" + boundary
    line = _readline(stream)
    while True:
        # Find the boundary (cameras differ on the leading dashes).
        skipped = 0
        while line.strip().lstrip(b"-") != boundary:
            skipped += 1
            if skipped > MAX_HEADER_LINES * 4:
                raise SourceError(ErrorKind.NO_VIDEO, "no multipart boundary in the stream")
            line = _readline(stream)
        length = None
        for _ in range(MAX_HEADER_LINES):
            header = _readline(stream)
            if not header.strip():
                break
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise SourceError(ErrorKind.NO_VIDEO, "bad Content-Length") from None
        else:
            raise SourceError(ErrorKind.NO_VIDEO, "too many part headers")
        if length is not None:
            if length > MAX_PART_BYTES:
                raise oversized(f"stream part too large ({length} bytes)")
            if length <= 0:
                raise SourceError(ErrorKind.NO_VIDEO, "bad Content-Length")
            body = stream.read(length)
            if len(body) < length:
                raise EOFError("stream ended inside a part")
            yield body
            line = _readline(stream)
            continue
        chunks: list[bytes] = []
        size = 0
        line = _readline(stream)
        while not line.startswith(marker) and line.strip().lstrip(b"-") != boundary:
            chunks.append(line)
            size += len(line)
            if size > MAX_PART_BYTES:
                raise oversized(f"stream part too large (over {MAX_PART_BYTES} bytes)")
            line = _readline(stream)
        yield b"".join(chunks).removesuffix(b"\r\n").removesuffix(b"\n")


def _readline(stream: IO[bytes]) -> bytes:
    line = stream.readline(65536)
    if not line:
        raise EOFError("stream ended")
    return line
