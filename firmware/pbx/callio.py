"""What goes into call control and what comes out of it: frozen values, no I/O.

The B2BUA (pbx/b2bua.py) is a pure state machine in the shape of sip/transaction.py one level
up: `B2BUA.receive(input, now, wall) -> [action]`. The endpoint (pbx/endpoint.py) is the only
executor: it sends what `Respond` / `SendRequest` / `SendStateless` carry, opens and closes
media, publishes events, and feeds back what happened (`MediaOpened`, `MediaFailed`, a
transaction's `TxnTimedOut`, `Tick` when a deadline is due, `MediaStopped` from the watch).

Owners of client transactions are typed references (`LegTxn`, `RelayTxn`) rather than
tuples told apart by their length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from firmware.pbx.events import CallEvent
from firmware.pbx.sip.message import Request, Response
from firmware.pbx.transport import Address


# -- owners of the transactions the B2BUA starts --------------------------------------------
@dataclass(frozen=True)
class LegTxn:
    """Our INVITE (or its re-send with credentials) on leg `leg` of call `call_id`."""

    call_id: str
    leg: int


@dataclass(frozen=True)
class RelayTxn:
    """An in-dialog request of leg `from_leg` relayed to the other party; `server` is the
    transaction its answer goes back on."""

    call_id: str
    from_leg: int
    server: object


@dataclass(frozen=True)
class Fire:
    """A request whose answer nobody waits for (BYE, CANCEL, our session refresh)."""

    call_id: str


Owner = Union[LegTxn, RelayTxn, Fire]


# -- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestIn:
    request: Request
    txn: object | None          # the server transaction; None for an ACK of a 2xx
    source: Address


@dataclass(frozen=True)
class ResponseIn:
    response: Response
    owner: Owner | None         # None: a stray (a 2xx retransmitted after its transaction)
    source: Address | None


@dataclass(frozen=True)
class TxnTimedOut:
    owner: Owner


@dataclass(frozen=True)
class MediaOpened:
    call_id: str
    session: object             # a RelaySession: .a/.b .local_port


@dataclass(frozen=True)
class MediaFailed:
    call_id: str
    why: str


@dataclass(frozen=True)
class MediaStopped:
    """No audio for the relay's idle timeout on an answered call (a BYE was lost)."""

    call_id: str


@dataclass(frozen=True)
class Originate:
    """Click-to-call (POST /api/originate): ring `extension`; when it answers, dial `number`
    through the trunk as that extension's outbound call."""

    call_id: str
    extension: str
    number: str


@dataclass(frozen=True)
class Tick:
    """A deadline of the B2BUA is due (see `B2BUA.next_deadline`)."""


Input = Union[RequestIn, ResponseIn, TxnTimedOut, MediaOpened, MediaFailed, MediaStopped,
              Originate, Tick]


# -- actions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Respond:
    txn: object
    response: Response


@dataclass(frozen=True)
class SendRequest:
    request: Request
    dest: Address
    owner: Owner


@dataclass(frozen=True)
class SendStateless:
    """An ACK for a 2xx, or our 2xx again: no transaction of their own (RFC 3261 13)."""

    message: Request | Response
    dest: Address


@dataclass(frozen=True)
class OpenMedia:
    call_id: str


@dataclass(frozen=True)
class SetRemoteMedia:
    session: object
    side: str                   # "a" (caller) / "b" (callee)
    host: str
    port: int
    signalled_from: str = ""    # the party's SIP address: media is accepted from it too
    formats: tuple = ()         # (payload type, "encoding/clock") its SDP names (recordings)


@dataclass(frozen=True)
class CloseMedia:
    session: object


@dataclass(frozen=True)
class Publish:
    event: CallEvent


Action = Union[Respond, SendRequest, SendStateless, OpenMedia, SetRemoteMedia, CloseMedia,
               Publish]
