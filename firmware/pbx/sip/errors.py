"""Exceptions of the SIP layer.

One root, `SipError`; each subclass also inherits the builtin it is closest to, so callers that
only know Python (``except ValueError``) still catch a malformed message. A parse error carries
the status a server should answer with, so the transport never has to guess it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - import only for the type checker (avoids a cycle)
    from .message import Request

logger = logging.getLogger(__name__)


class SipError(Exception):
    """Root of every error raised by the SIP layer."""


class SipParseError(SipError, ValueError):
    """Bytes or text that are not valid SIP.

    ``status`` is the response a server should answer a request with (400 by default, 505 for
    an unsupported SIP version, 416 for an unsupported URI scheme, 413/513 for oversized
    messages). ``request_info`` is set by `parse_message` when the start line looked like a
    request and a Via header was present: a `Request` holding the Via, From, To, Call-ID and
    CSeq lines that could be found, enough for `make_response` to build that error response.
    It is None for responses (a bad response is dropped, never answered) and for garbage.
    """

    def __init__(self, reason: str, status: int = 400, request_info: Request | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.request_info = request_info

    def __repr__(self) -> str:
        return f"SipParseError({self.reason!r}, status={self.status})"


class SipBuildError(SipError, ValueError):
    """A value that cannot be put into a message (e.g. a header value holding CR or LF).

    Raised when building, not when parsing: it marks a bug in our own code or unchecked input
    reaching a header, which must never turn into header injection on the wire.
    """
