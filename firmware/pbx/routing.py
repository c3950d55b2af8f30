"""Where a new call goes: a pure decision from the dialled number, the config and who is registered.

`route_inbound` (a call from a trunk) and `route_outbound` (a call from a desk phone) return
an action value; the B2BUA carries it out. Every rule is tested from a table in
tests/pbx/test_routing.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from firmware.config import Config, normalise_number
from firmware.pbx import events, hours
from firmware.pbx.dialled import digits, is_emergency


@dataclass(frozen=True)
class RingExtensions:
    """Ring every registered phone of these extensions at once; first to answer wins.

    After hours, `forward_to` adds external numbers (E.164) rung at the same time through
    trunk `forward_trunk`; the call stays the campaign's call whoever answers.
    """

    extensions: tuple[str, ...]
    dialled: str            # E.164 of the campaign number (or the extension dialled)
    campaign: str = ""      # the campaign's name, "" for an internal call
    forward_to: tuple[str, ...] = ()
    forward_trunk: str = ""


@dataclass(frozen=True)
class DialTrunk:
    """Send the call out through a trunk to an external number (E.164)."""

    trunk: str
    number: str
    emergency: bool = False   # 112 and the country's: no guard, limit or hours applies


@dataclass(frozen=True)
class Reject:
    """Answer the caller with this final response; `end_reason` is what the tracker hears."""

    status: int
    reason: str
    end_reason: str = events.FAILED


Route = RingExtensions | DialTrunk | Reject


dialled_user = digits   # the digits of a URI user (pbx/dialled.py)


def is_served(dialled: str, config: Config) -> bool:
    """Whether a number a trunk delivers names a campaign (or an extension: DID to extension)."""
    number = normalise_number(dialled, config.box.country) if dialled else None
    return bool(number and config.campaign_for(number)) or config.extension(dialled) is not None


def route_inbound(dialled: str, config: Config, is_registered: Callable[[str], bool],
                  now: float, *, night: bool = False) -> Route:
    """A call from a trunk: a campaign number rings the campaign's extensions.

    Outside the opening hours, or in night mode (`night`, the button), a campaign with
    after-hours targets rings those instead (docs/config.md, [hours]).
    """
    number = normalise_number(dialled, config.box.country) if dialled else None
    campaign = config.campaign_for(number) if number else None
    if campaign is None:
        # A trunk may also deliver an extension directly (DID to extension).
        if config.extension(dialled):
            return _ring((dialled,), dialled, "", is_registered)
        return Reject(404, "Not Found", events.FAILED)
    if night or not hours.is_open(config.hours, config.box.timezone, now):
        ring, forward = hours.after_hours_targets(config.hours, campaign)
        forward = forward if config.trunks else ()
        if ring or forward:
            reachable = tuple(ext for ext in ring if is_registered(ext))
            if not (reachable or forward):
                return Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)
            return RingExtensions(reachable, campaign.number, campaign.name, forward,
                                  config.trunks[0].name if forward else "")
    return _ring(campaign.ring, campaign.number, campaign.name, is_registered)


def route_outbound(extension: str, dialled: str, config: Config,
                   is_registered: Callable[[str], bool], now: float) -> Route:
    """A call from a desk phone: another extension, or an external number via the trunk."""
    if not dialled:
        return Reject(484, "Address Incomplete")
    if is_emergency(dialled, config.box.country):
        # Before everything else: no extension, guard, limit or hours stands in the way.
        if not config.trunks:
            return Reject(503, "No Trunk Configured")
        return DialTrunk(config.trunks[0].name, dialled, emergency=True)
    if config.extension(dialled):
        if dialled == extension:
            return Reject(486, "Busy Here", events.BUSY)
        return _ring((dialled,), dialled, "", is_registered)
    number = normalise_number(dialled, config.box.country)
    if number is None:
        return Reject(484, "Address Incomplete")
    if not config.trunks:
        return Reject(503, "No Trunk Configured")
    return DialTrunk(config.trunks[0].name, number)


def _ring(extensions: tuple[str, ...], dialled: str, campaign: str,
          is_registered: Callable[[str], bool]) -> Route:
    reachable = tuple(ext for ext in extensions if is_registered(ext))
    if not reachable:
        return Reject(480, "Temporarily Unavailable", events.NOBODY_AVAILABLE)
    return RingExtensions(reachable, dialled, campaign)
