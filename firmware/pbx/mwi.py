"""Message lamps: every desk phone's message-waiting light does what the box's callback LED does.

A mixin of pbx/b2bua.py (pure like it), in the pattern of pbx/blf.py, for the
message-summary event package (RFC 3842 on RFC 6665). A registered phone SUBSCRIBEs with
`Event: message-summary` to its own number (`sip:101@box`) and answers the box's 407 with
its extension's password, as for a call. The box answers 200 and NOTIFYs
`application/simple-message-summary` at once, then whenever what waits changes:

    Messages-Waiting: yes
    Message-Account: sip:101@192.0.2.10
    Voice-Message: 2/0

`yes` exactly while the callback LED is lit (callers waiting to be called back, or a
follow-up overdue); `Voice-Message` counts the callers waiting (new/old: nothing is ever
"old" here). What waits comes in as `MessagesWaiting`, fed by box.py from the tracker's
"waiting.changed" (tracker/publish.py): the tracker drives no lamp itself.

A subscription lasts as its `Expires` says (60 s to 1 h, 1 h when absent; shorter: 423),
is refreshed by a SUBSCRIBE in its dialog (which NOTIFYs again), and ends with a final
NOTIFY (`Subscription-State: terminated`) on `Expires: 0` or expiry. A phone that refuses a
NOTIFY or never answers it is forgotten (RFC 6665 4.2.2); it subscribes again on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from firmware.pbx import callerid, credentials, legs
from firmware.pbx.callio import SendRequest
from firmware.pbx.callstate import CallLeg
from firmware.pbx.sip.message import Request, Response, make_response
from firmware.pbx.sip.uri import split_header_list
from firmware.pbx.transport import Address

logger = logging.getLogger("firmware.pbx.b2bua")

EVENT = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"
MIN_EXPIRES, MAX_EXPIRES, DEFAULT_EXPIRES = 60, 3600, 3600
MAX_SUBSCRIPTIONS = 200        # message-summary subscriptions in all
MAX_PER_EXTENSION = 8          # a phone re-subscribing without unsubscribing cannot fill them


@dataclass(frozen=True)
class MessagesWaiting:
    """An input of `B2BUA.receive`: what keeps the callback LED lit changed. `waiting` > 0
    lights the lamps; `callbacks` is how many callers wait to be called back."""

    waiting: int
    callbacks: int


@dataclass(frozen=True)
class NotifyTxn:
    """Owner of a message-summary NOTIFY: its answer says whether the phone still listens."""

    sub_id: str
    key: tuple[str, str]


@dataclass
class MwiSubscription:
    id: str
    leg: CallLeg               # the subscription's dialog (the box is its notifier)
    extension: str             # who subscribed (authenticated)
    account: str               # Message-Account: the subscribed number at the box
    expires_at: float = 0.0    # monotonic, like every deadline
    shown: tuple | None = None  # (lit, callbacks) of the last NOTIFY


def is_message_summary(request: Request) -> bool:
    return (request.headers.get("Event") or "").split(";")[0].strip().lower() == EVENT


def summary_body(waiting: MessagesWaiting, account: str) -> bytes:
    """The application/simple-message-summary body (RFC 3842 5.2)."""
    return (f"Messages-Waiting: {'yes' if waiting.waiting > 0 else 'no'}\r\n"
            f"Message-Account: {account}\r\n"
            f"Voice-Message: {max(0, waiting.callbacks)}/0\r\n").encode()


class MessageLamps:
    """Methods of B2BUA for SUBSCRIBE / NOTIFY of the message-summary event package."""

    def on_message_summary(self, request: Request, txn, source: Address) -> None:
        """A SUBSCRIBE with `Event: message-summary` (`is_message_summary`): a new
        subscription, or a refresh / unsubscribe in the dialog of one."""
        expires = _expires(request.headers.get("Expires"))
        if request.to.tag:
            self._mwi_refresh(request, txn, source, expires)
        elif (problem := _refusal(request, expires)) is not None:
            self._respond(txn, problem)
        else:
            self._mwi_new(request, txn, source, expires)

    def messages_waiting(self, event: MessagesWaiting) -> None:
        """NOTIFY every subscribed phone whose lamp or count is not what it last heard."""
        self.mailbox = event
        for sub in list(self.mwi_subscriptions.values()):
            if _shown(event) != sub.shown:
                self._notify_summary(sub, "active")

    def mwi_expired(self, key) -> None:
        sub = self.mwi_subscriptions.pop(key, None)
        if sub is not None:
            logger.info("mwi: %s's message-summary subscription expired", sub.extension)
            self._notify_summary(sub, "terminated;reason=timeout")

    def notify_answered(self, response: Response | None, owner: NotifyTxn) -> None:
        """The phone's answer to a NOTIFY (None: no answer at all): forget a phone that
        refuses or is gone, so nothing is sent to it again until it subscribes anew."""
        if response is not None and response.status < 300:
            return
        sub = self.mwi_subscriptions.pop(owner.key, None)
        if sub is not None:
            logger.info("mwi: %s %s a NOTIFY; subscription ended", sub.extension,
                        f"answered {response.status}" if response else "did not answer")
            self.deadlines.cancel((sub.id, "mwi_expire"))

    # -- SUBSCRIBE ---------------------------------------------------------------------------
    def _mwi_new(self, request: Request, txn, source: Address, expires: int) -> None:
        extension = self._mwi_subscriber(request, txn, source)
        if extension is None:
            return
        account_user = callerid.uri_user(request.uri)
        if self.config.extension(account_user) is None:
            self._respond(txn, make_response(request, 404, "Not Found"))
            return
        mine = sum(s.extension == extension for s in self.mwi_subscriptions.values())
        if expires and (len(self.mwi_subscriptions) >= MAX_SUBSCRIPTIONS
                        or mine >= MAX_PER_EXTENSION):
            logger.warning("mwi: 503 to SUBSCRIBE from %s (%s): too many subscriptions",
                           extension, source)
            self._respond(txn, make_response(request, 503, "Service Unavailable",
                                             headers=[("Retry-After", "60")]))
            return
        leg = legs.caller_leg(request, source, self.host, self.port)
        sub = MwiSubscription(f"mwi:{leg.call_id}:{leg.local_tag}", leg, extension,
                              f"sip:{account_user}@{self.host}")
        self._respond(txn, legs.answer(leg, request, 200, "OK",
                                       extra=[("Expires", str(expires))]))
        if not expires:            # a one-time fetch of the state (RFC 6665 4.1.2.4)
            self._notify_summary(sub, "terminated;reason=timeout")
            return
        self.mwi_subscriptions[leg.key] = sub
        sub.expires_at = self.now + expires
        logger.info("mwi: %s subscribed to message-summary for %s s", extension, expires)
        self._notify_summary(sub, "active")
        self.deadlines.arm((sub.id, "mwi_expire"), sub.expires_at, leg.key)

    def _mwi_refresh(self, request: Request, txn, source: Address, expires: int) -> None:
        sub = self.mwi_subscriptions.get((request.call_id, request.to.tag or ""))
        if sub is None or source.host != sub.leg.dest.host:
            self._respond(txn, make_response(request, 481, "Subscription Does Not Exist"))
            return
        if sub.leg.dialog is not None and sub.leg.dialog.check_remote_cseq(request) is not None:
            self._respond(txn, make_response(request, 500, "CSeq Out Of Order"))
            return
        problem = _refusal(request, expires)
        if problem is not None:
            self._respond(txn, problem)
            return
        self._respond(txn, legs.answer(sub.leg, request, 200, "OK",
                                       extra=[("Expires", str(expires))]))
        if not expires:
            del self.mwi_subscriptions[sub.leg.key]
            self.deadlines.cancel((sub.id, "mwi_expire"))
            logger.info("mwi: %s unsubscribed from message-summary", sub.extension)
            self._notify_summary(sub, "terminated;reason=timeout")
            return
        sub.expires_at = self.now + expires
        self._notify_summary(sub, "active")
        self.deadlines.arm((sub.id, "mwi_expire"), sub.expires_at, sub.leg.key)

    def _mwi_subscriber(self, request: Request, txn, source: Address) -> str | None:
        """The extension subscribing, or None once answered 403/407: a registered phone's
        address and its extension's digest, exactly as for a call it places."""
        if not self._phone_at(source.host):
            logger.warning("mwi: 403 to SUBSCRIBE from %s: not a registered phone", source)
            self.on_auth_failure(source, self.wall)
            self._respond(txn, make_response(request, 403, "Forbidden"))
            return None
        verdict = credentials.check(self.digest, request.headers.get("Proxy-Authorization"),
                                    "SUBSCRIBE", callerid.uri_user(request.from_.uri),
                                    self._password_for, self.wall, request_uri=request.uri,
                                    source=source.host)
        if verdict.outcome == credentials.CHALLENGE:
            challenge = [("Proxy-Authenticate", value)
                         for value in self.digest.challenge(self.wall, stale=verdict.stale)]
            self._respond(txn, make_response(request, 407, "Proxy Authentication Required",
                                             headers=challenge))
            return None
        if verdict.outcome == credentials.REFUSE:
            logger.warning("mwi: 403 to SUBSCRIBE from %s (%s)", source, verdict.reason)
            self.on_auth_failure(source, self.wall)
            self._respond(txn, make_response(request, 403, "Forbidden"))
            return None
        self.on_auth_success(source, self.wall)
        return verdict.username

    # -- NOTIFY ------------------------------------------------------------------------------
    def _notify_summary(self, sub: MwiSubscription, state: str) -> None:
        sub.shown = _shown(self.mailbox)
        if state == "active":
            state = f"active;expires={max(0, int(sub.expires_at - self.now + 0.5))}"
        notify = legs.in_dialog_request(
            sub.leg, "NOTIFY", summary_body(self.mailbox, sub.account), CONTENT_TYPE,
            extra=[("Event", EVENT), ("Subscription-State", state),
                   ("Contact", sub.leg.contact)])      # RFC 6665 4.2.2: NOTIFY has one
        self._out.append(SendRequest(notify, sub.leg.dest, NotifyTxn(sub.id, sub.leg.key)))


def _shown(waiting: MessagesWaiting) -> tuple:
    return (waiting.waiting > 0, max(0, waiting.callbacks))


def _expires(value: str | None) -> int:
    """Seconds asked for: 0 (unsubscribe or fetch), more than MAX_EXPIRES cut down to it
    (a notifier may shorten), absent or unreadable: DEFAULT_EXPIRES."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        return DEFAULT_EXPIRES
    return min(int(value), MAX_EXPIRES)


def _refusal(request: Request, expires: int) -> Response | None:
    """423 for too short an interval, 406 when the phone accepts no summary bodies."""
    if 0 < expires < MIN_EXPIRES:
        return make_response(request, 423, "Interval Too Brief",
                             headers=[("Min-Expires", str(MIN_EXPIRES))])
    accepted = [item.split(";")[0].strip().lower()
                for value in request.headers.get_all("Accept")
                for item in split_header_list(value)]
    if accepted and not {CONTENT_TYPE, "application/*", "*/*"} & set(accepted):
        return make_response(request, 406, "Not Acceptable",
                             headers=[("Accept", CONTENT_TYPE)])
    return None
