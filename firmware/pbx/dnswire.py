"""DNS messages as values (RFC 1035, SRV from RFC 2782): build a query, parse an answer.

Pure: no socket here (firmware/pbx/dnsclient.py sends the bytes). The box asks only two
questions, SRV and A, so this reads only what they need: the header, the question, and the
A, SRV and CNAME records of the answer and additional sections (other types are skipped).
Anything malformed (a name pointing forward or in a loop, a record running past the end,
a label over 63 bytes) raises DnsFormatError: an answer is read whole or not at all.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A, TYPE_CNAME, TYPE_SRV = 1, 5, 33
CLASS_IN = 1
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED"}

MAX_NAME = 255
MAX_LABEL = 63
MAX_POINTERS = 32      # a name is at most 127 labels; this many jumps means a loop


class DnsFormatError(ValueError):
    """The bytes are not a DNS message we can read (or a name we could ask for)."""


@dataclass(frozen=True, order=True)
class Srv:
    """One SRV record's data (RFC 2782): where a service runs."""

    priority: int
    weight: int
    port: int
    target: str      # lower case, no trailing dot; "." (empty) means "not offered here"


@dataclass(frozen=True)
class Record:
    name: str        # lower case, no trailing dot
    type: int
    ttl: int
    data: str | Srv  # A: dotted IPv4; CNAME: the canonical name; SRV: Srv


@dataclass(frozen=True)
class Message:
    """A parsed answer: header fields, the question, and its A/SRV/CNAME records."""

    id: int
    rcode: int
    truncated: bool
    question: tuple[str, int] | None
    records: tuple[Record, ...]      # answer section first, then additional

    @property
    def rcode_name(self) -> str:
        return RCODE_NAMES.get(self.rcode, f"RCODE {self.rcode}")

    def srv(self, name: str) -> list[tuple[Srv, int]]:
        """The SRV records of `name` (following a CNAME), each with its TTL."""
        return [(r.data, r.ttl) for r in self._records_of(name, TYPE_SRV)
                if isinstance(r.data, Srv)]

    def addresses(self, name: str) -> list[tuple[str, int]]:
        """The IPv4 addresses of `name` (following CNAMEs), each with its TTL."""
        return [(r.data, r.ttl) for r in self._records_of(name, TYPE_A)
                if isinstance(r.data, str)]

    def _records_of(self, name: str, rtype: int) -> list[Record]:
        name = normalise(name)
        for _ in range(8):          # a CNAME chain longer than this is a misconfiguration
            found = [r for r in self.records if r.name == name and r.type == rtype]
            if found:
                return found
            alias = next((r.data for r in self.records
                          if r.name == name and r.type == TYPE_CNAME), None)
            if not isinstance(alias, str):
                return []
            name = alias
        return []


def normalise(name: str) -> str:
    return name.rstrip(".").lower()


def encode_name(name: str) -> bytes:
    """A domain name in wire form; raises DnsFormatError for one nobody can ask for."""
    name = normalise(name)
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.split("."):
        try:
            raw = label.encode("ascii")
        except UnicodeEncodeError:
            raise DnsFormatError(f"not an ASCII name: {name!r}") from None
        if not 1 <= len(raw) <= MAX_LABEL:
            raise DnsFormatError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    out += b"\x00"
    if len(out) > MAX_NAME:
        raise DnsFormatError(f"name too long: {name!r}")
    return bytes(out)


def build_query(query_id: int, name: str, qtype: int) -> bytes:
    """One recursive (RD) question for `name`, class IN."""
    if not 0 <= query_id <= 0xFFFF:
        raise DnsFormatError(f"bad query id {query_id}")
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def parse_message(data: bytes) -> Message:
    """Read a DNS response; raises DnsFormatError on anything malformed."""
    if len(data) < 12:
        raise DnsFormatError("shorter than a DNS header")
    query_id, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
    if not flags & 0x8000:
        raise DnsFormatError("a query, not a response")
    offset = 12
    question = None
    for index in range(qdcount):
        name, offset = _read_name(data, offset)
        qtype, _qclass = _unpack("!HH", data, offset)
        offset += 4
        if index == 0:
            question = (name, qtype)
    records: list[Record] = []
    for section, count in enumerate((ancount, nscount, arcount)):
        for _ in range(count):
            record, offset = _read_record(data, offset)
            if record is not None and section != 1:   # authority: SOA/NS, not needed
                records.append(record)
    return Message(query_id, flags & 0x000F, bool(flags & 0x0200), question, tuple(records))


def _unpack(fmt: str, data: bytes, offset: int) -> tuple:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error:
        raise DnsFormatError("message ends inside a field") from None


def _read_record(data: bytes, offset: int) -> tuple[Record | None, int]:
    name, offset = _read_name(data, offset)
    rtype, rclass, ttl, length = _unpack("!HHIH", data, offset)
    offset += 10
    end = offset + length
    if end > len(data):
        raise DnsFormatError("record data runs past the end")
    ttl = ttl if ttl < 0x80000000 else 0       # RFC 2181 8: a TTL with the top bit set is 0
    if rclass != CLASS_IN:
        return None, end
    if rtype == TYPE_A:
        if length != 4:
            raise DnsFormatError("A record that is not 4 bytes")
        return Record(name, rtype, ttl, str(ipaddress.IPv4Address(data[offset:end]))), end
    if rtype == TYPE_CNAME:
        alias, after = _read_name(data, offset)
        if after != end:
            raise DnsFormatError("CNAME length does not match its name")
        return Record(name, rtype, ttl, alias), end
    if rtype == TYPE_SRV:
        if length < 7:
            raise DnsFormatError("SRV record too short")
        priority, weight, port = _unpack("!HHH", data, offset)
        target, after = _read_name(data, offset + 6)
        if after != end:
            raise DnsFormatError("SRV length does not match its target")
        return Record(name, rtype, ttl, Srv(priority, weight, port, target)), end
    return None, end


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at `offset`; returns it and the offset after it."""
    labels: list[str] = []
    after = -1            # where the name ends in the stream (before the first pointer)
    jumps = 0
    size = 0
    while True:
        if offset >= len(data):
            raise DnsFormatError("name runs past the end")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise DnsFormatError("name pointer cut short")
            pointer = ((length & 0x3F) << 8) | data[offset + 1]
            if after < 0:
                after = offset + 2
            jumps += 1
            if jumps > MAX_POINTERS or pointer >= offset:
                raise DnsFormatError("name pointer loops or points forward")
            offset = pointer
            continue
        if length & 0xC0:
            raise DnsFormatError("unknown label type")
        offset += 1
        if length == 0:
            break
        label = data[offset:offset + length]
        if len(label) != length:
            raise DnsFormatError("label runs past the end")
        size += length + 1
        if size > MAX_NAME:
            raise DnsFormatError("name too long")
        labels.append(label.decode("ascii", "replace").lower())
        offset += length
    return ".".join(labels), (after if after >= 0 else offset)
