"""Ringing the phones and dialling the trunk: the callee legs of a call.

A mixin of pbx/b2bua.py (pure like it). Every registered phone of each extension rung gets
its own leg (its own dialog), the display name tells whoever answers which advert the caller
saw, and a leg to an external number goes through the trunk with the trunk's own caller ID.
"""

from __future__ import annotations

import ipaddress
import logging

from firmware.pbx import callerid, events, legs, routing, tollfraud
from firmware.pbx.callio import LegTxn, SendRequest
from firmware.pbx.callstate import Call, CallLeg
from firmware.pbx.sip.message import Request
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")


class Ringing:
    """Methods of B2BUA that start callee legs."""

    def ring(self, call: Call, decision: routing.RingExtensions, caller_number: str,
              offer: bytes) -> None:
        display = self.display(decision.campaign, caller_number)
        from_uri = self.caller_from(display, caller_number)
        max_forwards = callerid.max_forwards(call.caller.invite)
        for extension in decision.extensions:
            self.ring_extension(call, extension, from_uri, offer, max_forwards)
        for number in decision.forward_to:   # after hours: mobiles through the trunk too
            refused = tollfraud.check_dial(number, self.config, self._active_outbound())
            if refused:
                logger.warning("call: %s not forwarded to %s: %s", call.id, number, refused)
                continue
            self.dial_trunk(call, routing.DialTrunk(decision.forward_trunk, number),
                             caller_number, offer, display)
        if not call.callees:
            self._fail_caller(call, 480, events.NOBODY_AVAILABLE)

    def caller_from(self, display: str, caller_number: str) -> str:
        """The From a desk phone is rung with: the display name and the caller's number."""
        return f'"{callerid.quote(display)}" <sip:{callerid.user(caller_number)}@{self.host}>'

    def ring_extension(self, call: Call, extension: str, from_uri: str, offer: bytes,
                       max_forwards: int = 70) -> None:
        """A callee leg to every registered phone of `extension`."""
        for binding in self.bindings.contacts(extension, self.wall):
            dest = Address(binding.source_host, binding.source_port, binding.transport)
            leg = legs.callee_leg(len(call.callees) + 1, binding.contact, dest, from_uri,
                                  f"<sip:{extension}@{self.host}>", self.host, self.port,
                                  extension)
            self.send_invite(call, leg, legs.build_invite(leg, offer,
                                                           max_forwards=max_forwards))

    def dial_trunk(self, call: Call, decision: routing.DialTrunk, caller_number: str,
                    offer: bytes, display: str = "") -> None:
        """A leg to an external number. From is the trunk's own user (providers refuse other
        caller IDs); a forwarded call shows "campaign: caller" as the display name."""
        trunk = next(t for t in self.config.trunks if t.name == decision.trunk)
        host = self.config.sip.public_address or self.host
        if self.trunk_route is not None:
            dest, routes = self.trunk_route(trunk.name)
        else:
            ip = next((ip for ip, name in self.trunk_hosts.items() if name == trunk.name),
                      trunk.host)
            dest, routes = Address(ip, trunk.port, "UDP"), ()
        user = trunk.username or callerid.user(caller_number)
        name = f'"{callerid.quote(display)}" ' if display else ""
        leg = legs.callee_leg(len(call.callees) + 1,
                              _trunk_uri(decision.number, trunk), dest,
                              f"{name}<sip:{user}@{trunk.host}>",
                              f"<sip:{decision.number}@{trunk.host}>", host, self.port,
                              extension=decision.number if display else "", routes=routes)
        self.send_invite(call, leg, legs.build_invite(leg, offer))

    def send_invite(self, call: Call, leg: CallLeg, invite: Request) -> None:
        call.callees.append(leg)
        self.by_dialog[leg.key] = (call, leg)
        self._out.append(SendRequest(invite, leg.dest, LegTxn(call.id, leg.index)))

    def display(self, campaign: str, caller_number: str) -> str:
        """What a desk phone shows for an inbound call, so whoever answers knows which advert
        the caller saw: "Shop window: Jan Kowalski" for a known caller, else "Shop window:
        +48 601 234 567"; an internal call shows the calling extension."""
        if not campaign:
            return caller_number
        try:
            name = self.contact_name(caller_number)
        except Exception:  # noqa: BLE001 -- a failing look-up must not stop the call
            logger.exception("call: contact look-up failed for %s", caller_number)
            name = None
        return f"{campaign}: {name or callerid.readable(caller_number)}"


def _trunk_uri(number: str, trunk) -> str:
    """sip:number@host[:port]; a trunk found through DNS SRV gets no port (RFC 3263 4.2),
    and a TCP trunk says so."""
    port = "" if getattr(trunk, "srv", False) and not _is_ip(trunk.host) else f":{trunk.port}"
    tcp = ";transport=tcp" if getattr(trunk, "transport", "udp") == "tcp" else ""
    return f"sip:{number}@{trunk.host}{port}{tcp}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
