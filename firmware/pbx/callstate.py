"""The state of calls and their legs: named states, one table of allowed moves.

Why a table: the B2BUA grows states as features arrive (transfer, pickup, voicemail), and
the bugs of the first wave were moves nobody meant to allow (a cancelled phone's re-INVITE
moving the caller's audio, a BYE from a leg that never answered hanging up the caller). Every
change of state goes through `Call.move` / `CallLeg.move`, which raise `IllegalMove` for a move
the table does not list; the B2BUA turns that into a clean end of the call, never a stuck one.

A call (one caller attempt through the box):
    SETUP    the caller's INVITE is taken; the media relay is opening
    RINGING  phones (or the trunk) are being rung
    ANSWERED one callee leg answered; audio flows between it and the caller
    ENDED    over; kept a little while so late retransmissions find it
A leg (one dialog of the call, see sip/dialog.py):
    CALLING  INVITE sent (callee) or received (caller), no answer yet
    EARLY    a 1xx with a tag came (callee) or was sent (caller)
    CONFIRMED answered (2xx)
    CANCELLING we gave up on it (CANCEL sent or due after its first 1xx)
    FAILED   a final non-2xx answer
    ENDED    BYE sent or received
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from firmware.pbx.sip.dialog import Dialog
from firmware.pbx.sip.message import Request
from firmware.pbx.transport import Address


class IllegalMove(RuntimeError):
    """A state change the table does not allow (a bug or a peer breaking the protocol)."""


class CallState(enum.Enum):
    SETUP = "setup"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class LegState(enum.Enum):
    CALLING = "calling"
    EARLY = "early"
    CONFIRMED = "confirmed"
    CANCELLING = "cancelling"
    FAILED = "failed"
    ENDED = "ended"


CALL_MOVES: dict[CallState, frozenset[CallState]] = {
    CallState.SETUP: frozenset({CallState.RINGING, CallState.ENDED}),
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.ENDED}),
    CallState.ANSWERED: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}

LEG_MOVES: dict[LegState, frozenset[LegState]] = {
    LegState.CALLING: frozenset({LegState.EARLY, LegState.CONFIRMED, LegState.CANCELLING,
                                 LegState.FAILED, LegState.ENDED}),
    LegState.EARLY: frozenset({LegState.CONFIRMED, LegState.CANCELLING, LegState.FAILED,
                               LegState.ENDED}),
    LegState.CONFIRMED: frozenset({LegState.ENDED}),
    # a phone may still answer after our CANCEL crossed its 200: it is then ACKed and BYEd
    LegState.CANCELLING: frozenset({LegState.FAILED, LegState.ENDED}),
    LegState.FAILED: frozenset(),
    LegState.ENDED: frozenset(),
}

LIVE_LEG_STATES = frozenset({LegState.CALLING, LegState.EARLY})


@dataclass
class CallLeg:
    """One side of a call: its dialog (once there is one) and the box's bookkeeping.

    `dialog` is None for a callee leg until the first 1xx/2xx with a To tag; the caller leg
    has one from the start (the box picks its To tag when it takes the INVITE).
    """

    role: str                       # "caller" (we received its INVITE) or "callee"
    index: int                      # 0 for the caller; 1.. for callees, in order
    dest: Address                   # where requests go: the source address (NAT-safe)
    call_id: str                    # SIP Call-ID of this leg
    local_tag: str
    local_uri: str                  # our name-addr (From of a callee INVITE), no tag
    remote_uri: str                 # their name-addr, no tag
    contact_host: str               # the box's address as this leg's peer sees it
    contact_port: int
    request_uri: str = ""           # callee: where the INVITE goes
    extension: str = ""             # desk phone's extension, or the dialled number outward
    invite: Request | None = None   # the INVITE received (caller) or last sent (callee)
    txn: object | None = None       # its INVITE transaction
    dialog: Dialog | None = None
    state: LegState = LegState.CALLING
    final_status: int = 0
    provisional: bool = False       # a 1xx came: only then may a CANCEL go (RFC 3261 9.1)
    initial_routes: tuple[str, ...] = ()   # a pre-loaded route set (an outbound proxy)

    def remote_tag_or(self, default: str) -> str:
        """The peer's tag once a response named one."""
        return self.dialog.remote_tag if self.dialog is not None else default

    def move(self, to: LegState) -> None:
        if to is self.state:
            return
        if to not in LEG_MOVES[self.state]:
            raise IllegalMove(f"leg {self.index}: {self.state.value} -> {to.value}")
        self.state = to

    @property
    def live(self) -> bool:
        return self.state in LIVE_LEG_STATES

    @property
    def key(self) -> tuple[str, str]:
        """How requests of this leg's dialog find it: (Call-ID, our tag)."""
        return (self.call_id, self.local_tag)

    @property
    def contact(self) -> str:
        return f"<sip:callbox@{self.contact_host}:{self.contact_port}>"

    def via(self, branch: str) -> str:
        return (f"SIP/2.0/{self.dest.transport} {self.contact_host}:{self.contact_port}"
                f";branch={branch};rport")

    def sent_by(self) -> str:
        return f"SIP/2.0/{self.dest.transport} {self.contact_host}:{self.contact_port}"


@dataclass
class Call:
    """One caller attempt through the box: the caller leg and the legs it rings."""

    id: str
    caller: CallLeg
    direction: str                          # "inbound" / "outbound" / "internal"
    callees: list[CallLeg] = field(default_factory=list)
    answered_by: CallLeg | None = None
    state: CallState = CallState.SETUP
    media: object | None = None             # the relay session, once open (MediaOpened)
    acked: bool = False                     # the caller ACKed our 2xx
    late_offer: bool = False                # the caller's INVITE had no SDP
    originate: bool = False                 # click-to-call: leg 0 is the box's INVITE
    auth_tries: int = 0
    ringback_sent: bool = False             # 180 (or 183 with early media) sent
    started: float = 0.0                    # monotonic time the INVITE came in
    pending: dict = field(default_factory=dict)   # what waits on the caller: "ack" -> leg
    # what the live board shows (GET /api/live)
    caller_number: str = ""
    callee_number: str = ""
    campaign: str = ""
    since: float = 0.0                      # wall time of the last change of state
    held: bool = False                      # the last offer of either side put it on hold
    handled_by: list[str] = field(default_factory=list)   # extensions on the call, in order

    def move(self, to: CallState) -> None:
        if to is self.state:
            return
        if to not in CALL_MOVES[self.state]:
            raise IllegalMove(f"call {self.id}: {self.state.value} -> {to.value}")
        self.state = to

    @property
    def legs(self) -> list[CallLeg]:
        return [self.caller, *self.callees]

    def leg(self, index: int) -> CallLeg | None:
        return self.caller if index == 0 else (
            self.callees[index - 1] if 0 < index <= len(self.callees) else None)

    def other(self, leg: CallLeg) -> CallLeg | None:
        """The party `leg` talks to: the answering callee for the caller, else the caller."""
        if leg is self.caller:
            return self.answered_by
        return self.caller if leg is self.answered_by else None

    def media_side(self, leg: CallLeg) -> str:
        """The relay side of a leg: "a" faces the caller, "b" the answering callee."""
        return "a" if leg is self.caller else "b"
