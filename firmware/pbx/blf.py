"""Busy-lamp fields: desk phones watch a colleague's line (the dialog event package, RFC 4235).

A mixin of pbx/b2bua.py (pure like it). A registered phone SUBSCRIBEs with `Event: dialog`
to `sip:102@box`; the box answers 200 and NOTIFYs `application/dialog-info+xml` at once and
whenever 102 changes between idle (`terminated`), ringing (`early`) and in a call
(`confirmed`), so a Yealink or Snom key lights up. A ringing dialog carries its `call-id`,
`local-tag` and `remote-tag`, which is what a phone's BLF key sends back in an INVITE with
`Replaces` to pick the call up (pbx/replaces.py); keys set to dial `**102` work too.
Only a phone registered from the subscriber's address may subscribe; subscriptions expire
as the SUBSCRIBE says (60 s to 1 h) unless refreshed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from firmware.pbx import legs
from firmware.pbx.callio import Fire, SendRequest
from firmware.pbx.callstate import CallLeg, CallState
from firmware.pbx.sip.errors import SipError
from firmware.pbx.sip.message import Request, make_response
from firmware.pbx.sip.uri import parse_uri
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")

MIN_EXPIRES, MAX_EXPIRES, DEFAULT_EXPIRES = 60, 3600, 3600
MAX_SUBSCRIPTIONS = 200


@dataclass
class Subscription:
    id: str
    leg: CallLeg                # the subscription's dialog (the box is its notifier)
    extension: str              # whose line is watched
    version: int = 0
    shown: tuple = ()           # what the last NOTIFY said


class Lamps:
    """Methods of B2BUA for SUBSCRIBE / NOTIFY of the dialog event package."""

    def on_subscribe(self, request: Request, txn, source: Address) -> None:
        subs = self.subscriptions
        if (request.headers.get("Event") or "").split(";")[0].strip().lower() != "dialog":
            self._respond(txn, make_response(request, 489, "Bad Event", headers=[
                ("Allow-Events", "dialog, message-summary, refer")]))
            return
        if not self._phone_at(source.host):
            self._respond(txn, make_response(request, 403, "Forbidden"))
            return
        expires = _expires(request.headers.get("Expires"))
        existing = subs.get((request.call_id, request.to.tag or "")) if request.to.tag else None
        if existing is None:
            try:
                watched = parse_uri(request.uri).user or parse_uri(request.to.uri).user or ""
            except SipError:
                watched = ""
            if self.config.extension(watched) is None:
                self._respond(txn, make_response(request, 404, "Not Found"))
                return
            if len(subs) >= MAX_SUBSCRIPTIONS and expires:
                self._respond(txn, make_response(request, 503, "Service Unavailable"))
                return
            leg = legs.caller_leg(request, source, self.host, self.port)
            existing = Subscription(f"sub:{leg.call_id}:{leg.local_tag}", leg, watched)
            if expires:
                subs[leg.key] = existing
        ok = legs.answer(existing.leg, request, 200, "OK", extra=[("Expires", str(expires))])
        self._respond(txn, ok)
        self._notify_lamp(existing, expires)
        if expires:
            self.deadlines.arm((existing.id, "expire"), self.now + expires, existing.leg.key)
        else:
            subs.pop(existing.leg.key, None)
            self.deadlines.cancel((existing.id, "expire"))

    def subscription_expired(self, key) -> None:
        sub = self.subscriptions.pop(key, None)
        if sub is not None:
            self._notify_lamp(sub, 0)

    def update_lamps(self) -> None:
        """NOTIFY every subscriber whose watched line changed since its last NOTIFY."""
        for sub in list(self.subscriptions.values()):
            if self._line_state(sub.extension) != sub.shown:
                self._notify_lamp(sub, None)

    def _notify_lamp(self, sub: Subscription, expires: int | None) -> None:
        sub.shown = self._line_state(sub.extension)
        sub.version += 1
        state = "terminated;reason=timeout" if expires == 0 else "active"
        body = _dialog_info(sub, self.host).encode()
        notify = legs.in_dialog_request(sub.leg, "NOTIFY", body, "application/dialog-info+xml",
                                        extra=[("Event", "dialog"),
                                               ("Subscription-State", state)])
        self._out.append(SendRequest(notify, sub.leg.dest, Fire(sub.id)))

    def _line_state(self, extension: str) -> tuple:
        """("confirmed"|"early"|"terminated", call-id, local-tag, remote-tag) of a line."""
        ringing = None
        for call in self.calls.values():
            if call.state is CallState.ENDED:
                continue
            for leg in call.callees:
                if leg.extension != extension:
                    continue
                if leg is call.answered_by and call.state is CallState.ANSWERED:
                    return ("confirmed", leg.call_id, leg.remote_tag_or(""), leg.local_tag)
                if leg.live and ringing is None:
                    ringing = ("early", leg.call_id, leg.remote_tag_or(""), leg.local_tag)
            if call.caller_number == extension and call.direction != "inbound":
                return ("confirmed", call.caller.call_id, call.caller.local_tag, "")
        return ringing or ("terminated", "", "", "")

    def _phone_at(self, host: str) -> bool:
        return any(b.source_host == host for ext in self.bindings.extensions()
                   for b in self.bindings.contacts(ext, self.wall))


def _expires(value: str | None) -> int:
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        return DEFAULT_EXPIRES
    seconds = int(value)
    return 0 if seconds == 0 else max(MIN_EXPIRES, min(MAX_EXPIRES, seconds))


def _dialog_info(sub: Subscription, host: str) -> str:
    state, call_id, local_tag, remote_tag = sub.shown
    entity = f"sip:{sub.extension}@{host}"
    dialog = (f'<dialog id="{sub.extension}" direction="recipient"'
              + (f" call-id={quoteattr(call_id)} local-tag={quoteattr(local_tag)} "
                 f"remote-tag={quoteattr(remote_tag)}" if call_id else "")
              + f"><state>{state}</state></dialog>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{sub.version}" '
            f'state="full" entity={quoteattr(entity)}>{dialog}</dialog-info>\n')
