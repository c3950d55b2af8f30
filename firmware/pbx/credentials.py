"""One decision for every digest-protected request (REGISTER, and INVITE from a desk phone).

Pure: `check(...) -> Verdict`. The registrar turns CHALLENGE into 401 + WWW-Authenticate,
the B2BUA into 407 + Proxy-Authenticate; both turn REFUSE into 403 and report it to the
per-address defences. Credentials for a nonce the box never issued (another realm, or a
nonce from before a reset) are challenged again rather than refused (RFC 4475 3.3.9), and
an unknown user is refused exactly like a wrong password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from firmware.pbx.sip.digest import DigestServer, parse_auth_header
from firmware.pbx.sip.errors import SipParseError

OK, CHALLENGE, REFUSE = "ok", "challenge", "refuse"


@dataclass(frozen=True)
class Verdict:
    outcome: str                 # OK, CHALLENGE or REFUSE
    username: str = ""           # the authenticated user when OK
    stale: bool = False          # CHALLENGE with stale=true: the phone's nonce expired
    reason: str = ""             # for the log only; never shown to the peer


def check(digest: DigestServer, authorization: str | None, method: str, claimed_user: str,
          password_for: Callable[[str], str | None], now: float, *,
          request_uri: str | None = None, source: str | None = None) -> Verdict:
    """Whether `authorization` proves `claimed_user` (the To user of a REGISTER, the From
    user of an INVITE).

    Pass the request's `request_uri` (its credentials must name it: a captured header is no
    key to another number) and the sender's `source` host (an RFC 2069 nonce, without qop,
    is then accepted again only from there; without `source` it is single-use).
    """
    if authorization is None:
        return Verdict(CHALLENGE)
    # An empty password proves nothing (issue 14.5): such a user is treated as unknown.
    result = digest.verify(method, authorization, lambda user: password_for(user) or None,
                           now, request_uri=request_uri, source=source)
    if result.stale:
        return Verdict(CHALLENGE, stale=True)
    if not result.ok:
        if not _issued_here(digest, authorization):
            return Verdict(CHALLENGE, reason=f"not our nonce ({result.reason})")
        return Verdict(REFUSE, reason=result.reason)
    if result.username != claimed_user:
        return Verdict(REFUSE, reason=f"{claimed_user} authenticated as {result.username}")
    return Verdict(OK, username=result.username or "")


def _issued_here(digest: DigestServer, authorization: str) -> bool:
    try:
        _, params = parse_auth_header(authorization)
    except SipParseError:
        return False
    return (params.get("realm") == digest.realm
            and digest.nonce_time(params.get("nonce", "")) is not None)
