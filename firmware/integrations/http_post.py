"""One HTTP POST to a receiver: no redirects followed, a 10 s limit, the answer's first bytes.

Why not urllib.request: it follows redirects (a 3xx must count as a failure, not be chased to
wherever it points) and reads whole bodies. http.client does neither.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT = 10.0
READ_LIMIT = 4096


@dataclass(frozen=True)
class Answer:
    status: int | None        # None: no HTTP answer (refused, timed out, TLS failed)
    body: str                 # the first bytes of the answer, as text
    error: str                # why there was no answer or why it is a failure; "" on 2xx


def url_problem(url: str) -> str | None:
    """Why `url` may not be posted to, or None: https, or http only to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must use https (plain http only to this machine, 127.0.0.1)"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT) -> Answer:
    """POST `body`; never raises for network trouble (it is in `Answer.error`)."""
    problem = url_problem(url)
    if problem:
        return Answer(None, "", f"URL {problem}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": "Callbox", **headers})
        response = conn.getresponse()
        text = response.read(READ_LIMIT).decode("utf-8", "replace")
        status = response.status
    except socket.timeout:
        return Answer(None, "", f"no answer within {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
    if 200 <= status <= 299:
        return Answer(status, text, "")
    if 300 <= status <= 399:
        return Answer(status, text, f"HTTP {status}: redirects are not followed")
    return Answer(status, text, f"HTTP {status}")
