"""A real HTTP camera for tests: aiohttp serving MJPEG and snapshots on 127.0.0.1.

Runs its own event loop in a thread so engine code (blocking urllib in worker
threads) and Home Assistant tests can both talk to it. It can demand basic or
digest auth, send garbage, die mid-stream, and be stopped and restarted on
the same port to test reconnects.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

from .videos import jpeg_frames

USER, PASSWORD = "viewer", "s3cret-pw"
REALM = "privacy-cam-test"
NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # digest auth is MD5


class HttpCamera:
    """Start with `start()`, stop with `stop()`; `url(path)` gives addresses."""

    def __init__(
        self,
        fps: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        frames: list[bytes] | None = None,
    ) -> None:
        self.fps = fps
        self.ssl_context = ssl_context
        self.frames = frames or jpeg_frames()
        self.port = _free_port()
        self.requests: list[str] = []
        self.hits: list[str] = []  # every request's path, whatever the route
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_app())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="test-http-camera", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._stop_app(), self._loop)
        future.result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = self._thread = None

    async def _start_app(self) -> None:
        app = web.Application(middlewares=[self._count])
        routes: dict[str, Handler] = {
            "/mjpeg": self._mjpeg,
            "/mjpeg_nolength": self._mjpeg_nolength,
            "/mjpeg_basic": self._basic(self._mjpeg),
            "/mjpeg_digest": self._digest(self._mjpeg),
            "/mjpeg_dies": self._mjpeg_dies,
            "/mjpeg_garbage": self._mjpeg_garbage,
            "/mjpeg_hang": self._mjpeg_hang,
            "/mjpeg_endless": self._mjpeg_endless,
            "/mjpeg_huge_part": self._mjpeg_huge_part,
            "/redirect_same": self._redirect("/mjpeg"),
            "/redirect_other": self._redirect_other,
            "/snapshot_png": self._snapshot_png,
            "/snapshot_gif": self._snapshot_gif,
            "/snapshot_huge": self._snapshot_huge,
            "/snapshot_40mp": self._snapshot_40mp,
            "/snapshot_bloated": self._snapshot_bloated,
            "/snapshot": self._snapshot,
            "/snapshot_basic": self._basic(self._snapshot),
            "/snapshot_garbage": self._snapshot_garbage,
            "/snapshot_truncated": self._snapshot_truncated,
            "/html": self._html,
            "/error": self._error,
        }
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            "127.0.0.1",
            self.port,
            reuse_address=True,
            ssl_context=self.ssl_context,
        )
        await site.start()

    async def _stop_app(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.hits.append(request.path)
        return await handler(request)

    # Auth wrappers --------------------------------------------------------------

    def _basic(self, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            import base64

            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.Response(
                    status=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'}
                )
            return await handler(request)

        return wrapped

    def _digest(self, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            if header.startswith("Digest ") and self._digest_ok(request, header[7:]):
                return await handler(request)
            return web.Response(
                status=401,
                headers={
                    "WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", nonce="{NONCE}"'
                },
            )

        return wrapped

    @staticmethod
    def _digest_ok(request: web.Request, value: str) -> bool:
        fields = {}
        for item in value.split(","):
            key, _, val = item.strip().partition("=")
            fields[key] = val.strip('"')
        ha1 = _md5(f"{USER}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"{request.method}:{fields.get('uri', '')}")
        expected = _md5(
            f"{ha1}:{NONCE}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}"
        )
        return fields.get("username") == USER and fields.get("response") == expected

    # Handlers --------------------------------------------------------------------

    async def _stream(
        self, request: web.Request, *, length: bool = True, limit: int | None = None
    ) -> web.StreamResponse:
        self.requests.append(request.path)
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=--myboundary"}
        )
        await response.prepare(request)
        index = 0
        while limit is None or index < limit:
            image = self.frames[index % len(self.frames)]
            head = "--myboundary\r\nContent-Type: image/jpeg\r\n"
            if length:
                head += f"Content-Length: {len(image)}\r\n"
            try:
                await response.write(head.encode() + b"\r\n" + image + b"\r\n")
            except ConnectionError:  # the client went away
                return response
            index += 1
            await asyncio.sleep(1 / self.fps)
        assert request.transport is not None
        request.transport.close()  # die without a proper end
        return response

    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request)

    async def _mjpeg_nolength(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request, length=False)

    async def _mjpeg_dies(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request, limit=3)

    async def _mjpeg_garbage(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=frame"}
        )
        await response.prepare(request)
        junk = os.urandom(2000)
        await response.write(
            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 2000\r\n\r\n" + junk
        )
        await asyncio.sleep(0.5)
        return response

    async def _mjpeg_hang(self, request: web.Request) -> web.StreamResponse:
        """One frame, then silence with the connection open (a frozen camera)."""
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=--myboundary"}
        )
        await response.prepare(request)
        image = self.frames[0]
        head = f"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: {len(image)}\r\n"
        await response.write(head.encode() + b"\r\n" + image + b"\r\n")
        await asyncio.sleep(30)
        return response

    async def _mjpeg_endless(self, request: web.Request) -> web.StreamResponse:
        """A multipart part that starts like a JPEG and never ends (no boundary, no
        Content-Length): the camera answers, but no frame is ever complete."""
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=--myboundary"}
        )
        await response.prepare(request)
        await response.write(b"--myboundary\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8")
        try:
            for _ in range(600):  # 60 s at most
                await response.write(b"\x00" * 200 + b"\r\n")
                await asyncio.sleep(0.1)
        except ConnectionError:
            pass
        return response

    async def _mjpeg_huge_part(self, request: web.Request) -> web.StreamResponse:
        """A part whose Content-Length is over any sane JPEG (64 MiB)."""
        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=--myboundary"}
        )
        await response.prepare(request)
        head = b"--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: 67108864\r\n\r\n"
        try:
            await response.write(head + b"\xff\xd8" + b"\x00" * 4096)
            await asyncio.sleep(2)
        except ConnectionError:
            pass
        return response

    def _redirect(self, target: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound(target)

        return handler

    async def _redirect_other(self, request: web.Request) -> web.StreamResponse:
        # Same machine, other host name: following it would work, which is the danger.
        raise web.HTTPFound(f"http://localhost:{self.port}/mjpeg")

    async def _snapshot_png(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=_encoded(self.frames[0], "PNG"), content_type="image/png")

    async def _snapshot_gif(self, request: web.Request) -> web.StreamResponse:
        """A format FFmpeg would decode if it were allowed to guess."""
        return web.Response(body=_encoded(self.frames[0], "GIF"), content_type="image/gif")

    async def _snapshot_huge(self, request: web.Request) -> web.StreamResponse:
        """A real JPEG whose header claims 10000x10000 pixels."""
        return web.Response(
            body=with_declared_size(self.frames[0], 10000, 10000), content_type="image/jpeg"
        )

    async def _snapshot_40mp(self, request: web.Request) -> web.StreamResponse:
        """Each side under 8192, but 8000x6000 = 48 MP."""
        return web.Response(
            body=with_declared_size(self.frames[0], 8000, 6000), content_type="image/jpeg"
        )

    async def _snapshot_bloated(self, request: web.Request) -> web.StreamResponse:
        """17 MiB of "JPEG": over the per-picture byte cap."""
        return web.Response(body=b"\xff\xd8" + bytes(17 * 1024 * 1024), content_type="image/jpeg")

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        index = len(self.requests) % len(self.frames)
        return web.Response(body=self.frames[index], content_type="image/jpeg")

    async def _snapshot_garbage(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\xff\xd8" + os.urandom(500), content_type="image/jpeg")

    async def _snapshot_truncated(self, request: web.Request) -> web.StreamResponse:
        """Promises a whole JPEG, sends half, and hangs up."""
        image = self.frames[0]
        response = web.StreamResponse(
            headers={"Content-Type": "image/jpeg", "Content-Length": str(len(image))}
        )
        await response.prepare(request)
        await response.write(image[: len(image) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    async def _html(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>login</html>", content_type="text/html")

    async def _error(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")


def _encoded(jpeg: bytes, image_format: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(out, format=image_format)
    return out.getvalue()


def with_declared_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF header rewritten to claim width x height."""
    data = bytearray(jpeg)
    i = 2
    while i + 9 < len(data):
        marker = data[i + 1]
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data[i + 5 : i + 7] = height.to_bytes(2, "big")
            data[i + 7 : i + 9] = width.to_bytes(2, "big")
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF marker")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_context(folder: str) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    import datetime
    import ipaddress
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test camera")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context
