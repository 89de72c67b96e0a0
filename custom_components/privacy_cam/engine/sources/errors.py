"""Errors a camera source can report, classified so the UI can explain them."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a source could not deliver video; values double as config-flow error keys."""

    # Nothing to talk to: the host could not be reached (no route, unknown name...).
    CANNOT_CONNECT = "cannot_connect"
    # The host answered at once, but nothing listens on that port.
    CONNECTION_REFUSED = "connection_refused"
    # No answer within the timeout (host off or silent, or it accepted and said nothing).
    NO_ANSWER = "no_answer"
    INVALID_AUTH = "invalid_auth"
    INVALID_URL = "invalid_url"
    # It answered, but with something that is not video or a picture.
    NO_VIDEO = "no_video"
    # It answered and started a stream, but no complete picture arrived in time
    # (e.g. a multipart part that never ends).
    NO_FRAME = "no_frame"
    # It answered with a redirect to another host or port, which is not followed.
    REDIRECTED = "redirected"


class SourceError(Exception):
    """A classified failure. The message must never contain credentials."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"
