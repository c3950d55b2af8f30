"""SDP (RFC 4566) as values, and the rewrites the B2BUA needs to anchor audio (RFC 3264).

Why it looks like this:
- The box sits in the media path, so every SDP body that crosses it is parsed, its addresses
  are replaced by the relay's, and it is serialized again. What the box does not understand
  (codec parameters, crypto, vendor attributes, b=, k=, unknown line types) is carried through
  unchanged, so the two phones still negotiate codecs with each other: the box never transcodes.
- Parsing keeps every line. Serializing writes them back in RFC 4566 order with CRLF endings,
  so a well-formed body round-trips byte for byte; a body whose lines are out of order comes
  out reordered (and so made valid), never shortened.
- SDP arrives from anyone who can send an INVITE. Anything this module cannot read raises
  `SdpError` (a ValueError, so a caller answers 488 Not Acceptable Here); nothing else escapes,
  whatever the bytes. Bodies over MAX_SDP_BYTES are refused before any work is done.
- Pure code: no sockets, no clock. Values are plain mutable dataclasses (as aiortc's are);
  `rewrite_for_relay` works on a copy and never touches its argument.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Iterable

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024       # the largest UDP SIP message could not carry more
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
HOLD_ADDRESSES = ("0.0.0.0", "::")  # RFC 2543 hold: "c=IN IP4 0.0.0.0"

# RFC 4566 section 5: session-level lines that come before c=, and media-level ones before c=.
_SESSION_BEFORE_C = frozenset("iuep")
_MEDIA_BEFORE_C = frozenset("i")
# ICE (RFC 8839) attributes: the box anchors media, so the parties' candidates are meaningless
# to each other; passing them on would make ICE-capable phones try to bypass the relay.
_ICE_ATTRIBUTES = frozenset({"candidate", "remote-candidates", "end-of-candidates"})

_LINE = re.compile(r"([a-z])=(.*)", re.ASCII | re.DOTALL)
_NUMBER = re.compile(r"[0-9]{1,20}", re.ASCII)
_PORT = re.compile(r"([0-9]{1,5})(?:/([0-9]{1,5}))?", re.ASCII)
_BLANKS = re.compile(r"[ \t]+")


def _fields(value: str) -> list[str]:
    """Split on spaces and tabs only: other odd characters stay inside a field, visible."""
    return [part for part in _BLANKS.split(value) if part]


class SdpError(ValueError):
    """The body is not SDP we can work with; the message says which line and why."""


@dataclass
class Origin:
    """The o= line: who made this description, and which version of it this is."""

    username: str
    session_id: str
    session_version: int
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "0.0.0.0"

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = _fields(value)
        if len(parts) != 6:
            raise SdpError(f"o= needs 6 fields, got {len(parts)}: {value[:80]!r}")
        username, session_id, version, nettype, addrtype, address = parts
        if not _NUMBER.fullmatch(version):
            raise SdpError(f"o= session version is not a number: {version[:40]!r}")
        return cls(username, session_id, int(version), nettype, addrtype, address)

    def __str__(self) -> str:
        return (f"{self.username} {self.session_id} {self.session_version} "
                f"{self.nettype} {self.addrtype} {self.address}")


@dataclass
class Connection:
    """A c= line. `address` is kept as written ("224.2.1.1/127" for multicast)."""

    nettype: str
    addrtype: str
    address: str

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = _fields(value)
        if len(parts) != 3:
            raise SdpError(f"c= needs 3 fields, got {len(parts)}: {value[:80]!r}")
        return cls(*parts)

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """IN IP4 or IN IP6 by the look of `address`."""
        return cls("IN", "IP6" if ":" in address else "IP4", address)

    @property
    def host(self) -> str:
        """The address without a multicast TTL or count."""
        return self.address.split("/", 1)[0]

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


@dataclass
class Attribute:
    """An a= line: "a=rtpmap:0 PCMU/8000" is ("rtpmap", "0 PCMU/8000"), "a=sendonly" has no value."""

    name: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> Attribute:
        name, colon, value = text.partition(":")
        return cls(name, value if colon else None)

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


def _find(attributes: list[Attribute], name: str) -> str | None:
    for attribute in attributes:
        if attribute.name == name:
            return attribute.value if attribute.value is not None else ""
    return None


@dataclass
class MediaDescription:
    """One m= section: "m=audio 49170 RTP/AVP 0 8 101" and the lines under it.

    `lines` holds the section's other lines (i=, b=, k=, unknown types) as (type, value), in order.
    """

    kind: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str) -> MediaDescription:
        """Parse the value of an m= line; the lines below it are added by the caller."""
        parts = _fields(value)
        if len(parts) < 3:
            raise SdpError(f"m= needs at least 3 fields: {value[:80]!r}")
        match = _PORT.fullmatch(parts[1])
        if match is None or int(match.group(1)) > 65535:
            raise SdpError(f"m= port is not a port: {parts[1][:40]!r}")
        count = int(match.group(2)) if match.group(2) is not None else None
        return cls(parts[0], int(match.group(1)), parts[2], parts[3:], count)

    def attribute(self, name: str) -> str | None:
        """The value of the first a=name line ("" for a flag), or None when there is none."""
        return _find(self.attributes, name)

    def copy(self) -> MediaDescription:
        return replace(self, formats=list(self.formats),
                       connection=_copy_connection(self.connection), lines=list(self.lines),
                       attributes=[replace(a) for a in self.attributes])

    @property
    def direction(self) -> str | None:
        """sendrecv/sendonly/recvonly/inactive when this section says so, else None."""
        for attribute in self.attributes:
            if attribute.name in DIRECTIONS and attribute.value is None:
                return attribute.name
        return None

    def _lines(self) -> list[str]:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        out = [f"m={' '.join([self.kind, port, self.proto, *self.formats])}"]
        out += [f"{kind}={value}" for kind, value in self.lines if kind in _MEDIA_BEFORE_C]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"{kind}={value}" for kind, value in self.lines if kind not in _MEDIA_BEFORE_C]
        out += [f"a={attribute}" for attribute in self.attributes]
        return out


@dataclass
class SessionDescription:
    """A whole SDP body.

    `lines` holds the session-level lines this class has no field for (i=, u=, e=, p=, b=, t=,
    r=, z=, k=, unknown types) as (type, value), in order. A body without t= gets "t=0 0" and one
    without s= gets "s=-" (both are mandatory, and the body goes on to another party).
    """

    origin: Origin
    name: str = "-"
    connection: Connection | None = None
    lines: list[tuple[str, str]] = field(default_factory=lambda: [("t", "0 0")])
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str | bytes) -> SessionDescription:
        """Parse a body; raise SdpError, with the line number, when it is not SDP."""
        if isinstance(text, (bytes, bytearray, memoryview)):
            if len(text) > MAX_SDP_BYTES:
                raise SdpError(f"SDP body of {len(text)} bytes is over {MAX_SDP_BYTES}")
            # surrogateescape keeps bytes that are not UTF-8, so to_bytes() gives them back.
            text = bytes(text).decode("utf-8", "surrogateescape")
        elif not isinstance(text, str):
            raise TypeError(f"SDP must be str or bytes, not {type(text).__name__}")
        if len(text) > MAX_SDP_BYTES:
            raise SdpError(f"SDP body of {len(text)} characters is over {MAX_SDP_BYTES}")
        return _parse(text)

    def __str__(self) -> str:
        out = ["v=0", f"o={self.origin}", f"s={self.name}"]
        out += [f"{kind}={value}" for kind, value in self.lines if kind in _SESSION_BEFORE_C]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"{kind}={value}" for kind, value in self.lines if kind not in _SESSION_BEFORE_C]
        out += [f"a={attribute}" for attribute in self.attributes]
        for media in self.media:
            out += media._lines()
        return "\r\n".join(out) + "\r\n"

    def to_bytes(self) -> bytes:
        """The body for a SIP message (the inverse of parse(bytes), odd bytes included)."""
        return str(self).encode("utf-8", "surrogateescape")

    def attribute(self, name: str) -> str | None:
        """The value of the first session-level a=name line ("" for a flag), or None."""
        return _find(self.attributes, name)

    def bump_version(self) -> int:
        """Add one to the o= session version, in place, and return it.

        RFC 3264 section 8: a re-offer that changes anything must carry a higher version than
        the last description sent on that leg, and an unchanged one must keep it.
        """
        self.origin.session_version += 1
        return self.origin.session_version

    def copy(self) -> SessionDescription:
        """A copy that can be changed without touching this one: every mutable part copied,
        field by field (copy.deepcopy took 0.3 ms a call, an eighth of the B2BUA's CPU)."""
        return SessionDescription(
            replace(self.origin), self.name, _copy_connection(self.connection),
            list(self.lines), [replace(a) for a in self.attributes],
            [media.copy() for media in self.media])


def _copy_connection(connection: Connection | None) -> Connection | None:
    return replace(connection) if connection is not None else None


def _split_lines(text: str) -> list[tuple[str, str]]:
    if "\x00" in text:
        raise SdpError("SDP contains a NUL character")
    lines: list[tuple[str, str]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue  # blank lines (a trailing one is common) carry nothing
        if "\r" in line:
            raise SdpError(f"line {number}: CR inside a line")
        match = _LINE.fullmatch(line)
        if match is None:
            raise SdpError(f"line {number} is not <letter>=<value>: {line[:80]!r}")
        lines.append((match.group(1), match.group(2)))
    return lines


def _parse(text: str) -> SessionDescription:
    lines = _split_lines(text)
    if not lines or lines[0] != ("v", "0"):
        raise SdpError("SDP must start with v=0")
    origin: Origin | None = None
    name: str | None = None
    connection: Connection | None = None
    other: list[tuple[str, str]] = []
    attributes: list[Attribute] = []
    media: list[MediaDescription] = []
    section: MediaDescription | None = None
    for number, (kind, value) in enumerate(lines[1:], 2):
        try:
            if kind == "v":
                raise SdpError("a second v= line")
            if kind == "m":
                section = MediaDescription.parse(value)
                media.append(section)
            elif section is not None:
                if kind == "c":
                    if section.connection is not None:
                        raise SdpError("a second c= line in one m= section")
                    section.connection = Connection.parse(value)
                elif kind == "a":
                    section.attributes.append(Attribute.parse(value))
                else:
                    section.lines.append((kind, value))
            elif kind == "o":
                if origin is not None:
                    raise SdpError("a second o= line")
                origin = Origin.parse(value)
            elif kind == "s":
                if name is not None:
                    raise SdpError("a second s= line")
                name = value
            elif kind == "c":
                if connection is not None:
                    raise SdpError("a second session-level c= line")
                connection = Connection.parse(value)
            elif kind == "a":
                attributes.append(Attribute.parse(value))
            else:
                other.append((kind, value))
        except SdpError as exc:
            raise SdpError(f"line {number}: {exc}") from None
    if origin is None:
        raise SdpError("SDP has no o= line")
    if not any(kind == "t" for kind, _ in other):
        other.append(("t", "0 0"))
    return SessionDescription(origin, "-" if name is None else name, connection, other,
                              attributes, media)


# --- what the B2BUA asks of a description ----------------------------------------------------


def _relayed_audio(sd: SessionDescription) -> int | None:
    """Index of the audio stream the relay carries: the first audio m= that is not rejected.

    One relay session carries one stream; other streams are disabled by rewrite_for_relay.
    """
    for index, media in enumerate(sd.media):
        if media.kind == "audio" and media.port != 0:
            return index
    return None


def audio_endpoint(sd: SessionDescription) -> tuple[str, int] | None:
    """Where this party wants to receive audio, or None when it accepts no audio stream.

    The media-level c= wins over the session-level one. ("0.0.0.0", port) is an RFC 2543 hold:
    the party does not want audio sent now; the caller must not send to it.
    """
    index = _relayed_audio(sd)
    if index is None:
        return None
    media = sd.media[index]
    connection = media.connection or sd.connection
    if connection is None:
        return None
    return connection.host, media.port


def refused_media_address(host: str, peers: Iterable[str]) -> str | None:
    """Why the relay must not send a party's audio to `host`, or None when it may.

    `peers` are the addresses the party's signalling came from (or the relay's own address
    when that is unknown). An SDP naming loopback makes the box send to its own services:
    refused unless the party itself is on loopback (issue 14.17).
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "not an IP address"
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    if address.is_loopback and not any(_is_loopback(peer) for peer in peers):
        return "loopback, from a party that is not on loopback"
    return None


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def direction(sd: SessionDescription) -> str:
    """sendrecv/sendonly/recvonly/inactive of the relayed audio stream (RFC 3264 section 5.1).

    The media-level attribute wins over the session-level one; neither means sendrecv.
    Without an accepted audio stream the answer is "inactive". An RFC 2543 hold (c= 0.0.0.0)
    is not folded in here: audio_endpoint() reports it.
    """
    index = _relayed_audio(sd)
    if index is None:
        return "inactive"
    found = sd.media[index].direction
    if found is not None:
        return found
    for attribute in sd.attributes:
        if attribute.name in DIRECTIONS and attribute.value is None:
            return attribute.name
    return "sendrecv"


def _is_ice(attribute: Attribute) -> bool:
    return attribute.name in _ICE_ATTRIBUTES or attribute.name.startswith("ice-")


def _relay_rtcp(attribute: Attribute, connection: Connection, port: int) -> Attribute:
    """a=rtcp (RFC 3605) points at the party; point it at the relay's RTCP port instead."""
    parts = _fields(attribute.value or "")
    if len(parts) >= 4:
        return Attribute("rtcp", f"{port + 1} {connection}")
    return Attribute("rtcp", str(port + 1))


def rewrite_for_relay(sd: SessionDescription, address: str, port: int, *,
                      session_id: str | None = None,
                      session_version: int | None = None) -> SessionDescription:
    """A copy of `sd` that sends the other party's audio to the relay at (address, port).

    What changes: the o= address (and session id and version when given, so that each leg
    keeps the box's own origin: see bump_version), the session c=, the port of the relayed
    audio stream, and its a=rtcp (to port + 1). Media-level c= lines go (the session c= now
    says it all). ICE attributes go: the box anchors media, candidates would bypass it.
    Codecs, fmtp, ptime, direction and every other attribute stay as they are.

    Every other stream (video, a second audio) gets port 0: the relay carries one audio
    stream, and a port pointing at the box for a stream it does not carry would be a lie.
    An RFC 2543 hold (c= 0.0.0.0) is kept as such so the other party still sees the hold.
    """
    if not 0 < port < 65535:
        raise ValueError(f"relay port out of range: {port}")
    endpoint = audio_endpoint(sd)
    relayed = _relayed_audio(sd)
    out = sd.copy()
    box = Connection.for_address(address)
    out.origin = replace(out.origin, nettype=box.nettype, addrtype=box.addrtype, address=address)
    if session_id is not None:
        out.origin.session_id = session_id
    if session_version is not None:
        out.origin.session_version = session_version
    on_hold = endpoint is not None and endpoint[0] in HOLD_ADDRESSES
    out.connection = Connection.for_address(endpoint[0]) if on_hold else box
    out.attributes = [a for a in out.attributes if not _is_ice(a)]
    for index, media in enumerate(out.media):
        media.connection = None
        kept = []
        for attribute in media.attributes:
            if _is_ice(attribute):
                continue
            if attribute.name == "rtcp":
                if index != relayed:
                    continue
                attribute = _relay_rtcp(attribute, box, port)
            kept.append(attribute)
        media.attributes = kept
        if index == relayed:
            media.port = port
            media.port_count = None
        else:
            media.port = 0
    return out


# -- codecs both parties offer (a B2BUA joining two offers: call pickup) --------------------
STATIC_FORMATS = {"0": "pcmu/8000", "3": "gsm/8000", "4": "g723/8000", "8": "pcma/8000",
                  "9": "g722/8000", "18": "g729/8000"}


def format_names(sd: SessionDescription) -> dict[str, str]:
    """Payload type -> "encoding/clock" (lower case) of the relayed audio stream."""
    index = _relayed_audio(sd)
    if index is None:
        return {}
    media = sd.media[index]
    names = {pt: STATIC_FORMATS.get(pt, "") for pt in media.formats}
    for attribute in media.attributes:
        if attribute.name == "rtpmap" and attribute.value:
            pt, _, rest = attribute.value.partition(" ")
            if pt in names:
                names[pt] = "/".join(rest.strip().lower().split("/")[:2])
    return names


def keep_formats(sd: SessionDescription, names: set[str]) -> SessionDescription:
    """A copy of `sd` whose audio stream keeps only the formats named in `names`; SdpError
    when none is left (the two parties share no codec)."""
    out = sd.copy()
    index = _relayed_audio(out)
    if index is None:
        raise SdpError("no audio stream")
    media = out.media[index]
    by_pt = format_names(out)
    kept = [pt for pt in media.formats if by_pt.get(pt) in names]
    if not kept:
        raise SdpError("no codec in common")
    media.formats = kept
    media.attributes = [a for a in media.attributes
                        if a.name not in ("rtpmap", "fmtp")
                        or (a.value or "").partition(" ")[0] in kept]
    return out


def box_offer(address: str, port: int, session_id: str) -> SessionDescription:
    """The box's own offer (click-to-call rings the desk phone first): G.711 both laws and
    DTMF events, pointing at the relay."""
    return SessionDescription.parse(
        f"v=0\r\no=callbox {session_id} 1 IN IP4 {address}\r\ns=callbox\r\n"
        f"c=IN IP4 {address}\r\nt=0 0\r\nm=audio {port} RTP/AVP 8 0 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n")
