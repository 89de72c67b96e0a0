"""A real share recipient on 127.0.0.1: records what arrives (POST and DELETE)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    content_type: str
    files: dict[str, tuple[str, str, bytes]]  # field -> (filename, content type, bytes)


@dataclass
class Webhook:
    port: int = 0
    status: int = 200  # answer to POST and DELETE
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def _parse(content_type: str, body: bytes) -> dict[str, tuple[str, str, bytes]]:
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    files = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        files[str(name)] = (str(part.get_filename()), part.get_content_type(), bytes(data))
    return files


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            hook.received.append(
                Received(self.command, self.path, content_type, _parse(content_type, body))
            )
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = _record
        do_DELETE = _record

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
