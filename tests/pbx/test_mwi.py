"""Message lamps (RFC 3842) through the real endpoint, bytes in and bytes out, frozen clocks."""

from __future__ import annotations

from firmware.pbx.mwi import MessagesWaiting
from firmware.pbx.sip.digest import answer_challenge
from firmware.pbx.sip.message import Request, make_response, parse_message
from tests.pbx.b2bua_wire import PHONE1, PHONE2, Box

STRANGER = PHONE1.__class__("127.0.0.99", 5060)


def subscribe(ext: str = "101", ip: str = "127.0.0.11", call_id: str = "mwi1", cseq: int = 1,
              expires: int | None = 3600, to_tag: str = "", account: str | None = None,
              event: str = "message-summary", extra: str = "") -> str:
    account = ext if account is None else account
    return (f"SUBSCRIBE sip:{account}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {ip};branch=z9hG4bK{call_id}c{cseq}\r\n"
            f"From: <sip:{ext}@127.0.0.1>;tag=f{call_id}\r\n"
            f"To: <sip:{account}@127.0.0.1>{';tag=' + to_tag if to_tag else ''}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:{ext}@{ip}:5060>\r\n"
            f"Event: {event}\r\n" + (f"Expires: {expires}\r\n" if expires is not None else "")
            + f"Max-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n")


def authed(box: Box, text: str, source, ext: str = "101", password: str | None = None):
    """Send a SUBSCRIBE, answer the box's 407 with the extension's password; the answer."""
    box.receive(text, source)
    challenge = box.responses(source)[-1]
    assert challenge.status == 407, challenge.status
    request = parse_message(text.encode())
    auth = answer_challenge(challenge.headers.get("Proxy-Authenticate"), method="SUBSCRIBE",
                            uri=request.uri, username=ext,
                            password=password or f"secret-{ext}-pw", cnonce="c0ffee")
    box.receive(text.replace(f"CSeq: {request.cseq[0]} SUBSCRIBE",
                             f"CSeq: {request.cseq[0] + 1} SUBSCRIBE\r\n"
                             f"Proxy-Authorization: {auth}")
                .replace("branch=z9hG4bK", "branch=z9hG4bKa"), source)
    return box.responses(source)[-1]


def notifies(box: Box, dest=PHONE1) -> list[Request]:
    """The NOTIFYs sent to `dest` in order, UDP re-sends left out."""
    seen: dict[tuple[str, int], Request] = {}
    for request in box.requests("NOTIFY", dest):
        seen.setdefault((request.call_id, request.cseq[0]), request)
    return list(seen.values())


def summary(notify: Request) -> dict[str, str]:
    lines = notify.body.decode().strip().split("\r\n")
    return dict(line.split(": ", 1) for line in lines)


def answer_all(box: Box, dest=PHONE1, status: int = 200) -> None:
    for notify in notifies(box, dest):
        box.receive(make_response(notify, status, None), dest)


def lamps(box: Box, waiting: int, callbacks: int | None = None) -> None:
    """What box.py feeds from the tracker's "waiting.changed"."""
    box.endpoint.feed(MessagesWaiting(waiting, waiting if callbacks is None else callbacks))


def test_a_phone_subscribes_and_its_lamp_follows_the_callback_led():
    box = Box()
    ok = authed(box, subscribe(), PHONE1)
    assert ok.status == 200 and ok.headers.get("Expires") == "3600" and ok.to.tag
    [first] = notifies(box)
    assert first.headers.get("Event") == "message-summary"
    assert first.headers.get("Content-Type") == "application/simple-message-summary"
    assert first.headers.get("Subscription-State") == "active;expires=3600"
    assert first.call_id == "mwi1" and first.from_.tag == ok.to.tag and first.to.tag == "fmwi1"
    assert first.headers.get("Contact") == "<sip:callbox@127.0.0.1:5060>"
    assert first.uri == "sip:101@127.0.0.11:5060"                # the phone's Contact
    assert summary(first) == {"Messages-Waiting": "no", "Message-Account": "sip:101@127.0.0.1",
                              "Voice-Message": "0/0"}
    answer_all(box)
    lamps(box, 1)                                           # a caller waits: the LED lights
    lamps(box, 1)                                           # told again: nothing new to say
    lamps(box, 2, 1)                                        # and a follow-up overdue: still lit
    assert [summary(n)["Messages-Waiting"] for n in notifies(box)] == ["no", "yes"]
    assert summary(notifies(box)[-1])["Voice-Message"] == "1/0"
    lamps(box, 3, 2)
    lamps(box, 0)                                           # called back: dark with the LED
    assert [(summary(n)["Messages-Waiting"], summary(n)["Voice-Message"])
            for n in notifies(box)] == [("no", "0/0"), ("yes", "1/0"), ("yes", "2/0"),
                                        ("no", "0/0")]
    assert [n.cseq[0] for n in notifies(box)] == sorted({n.cseq[0] for n in notifies(box)})


def test_a_new_subscriber_hears_what_waits_at_once_and_every_phone_is_told():
    box = Box()
    lamps(box, 2)
    authed(box, subscribe(), PHONE1)
    authed(box, subscribe("102", "127.0.0.12", call_id="mwi2"), PHONE2, ext="102")
    assert summary(notifies(box, PHONE1)[0])["Messages-Waiting"] == "yes"
    assert summary(notifies(box, PHONE2)[0])["Message-Account"] == "sip:102@127.0.0.1"
    lamps(box, 0)
    assert [summary(n)["Messages-Waiting"] for n in notifies(box, PHONE2)] == ["yes", "no"]
    assert [summary(n)["Messages-Waiting"] for n in notifies(box, PHONE1)] == ["yes", "no"]


def test_refresh_expiry_and_unsubscribe():
    box = Box()
    ok = authed(box, subscribe(expires=600), PHONE1)
    tag = ok.to.tag
    answer_all(box)
    box.receive(subscribe(cseq=3, expires=900, to_tag=tag), PHONE1)       # a refresh
    assert box.responses(PHONE1)[-1].headers.get("Expires") == "900"
    assert notifies(box)[-1].headers.get("Subscription-State") == "active;expires=900"
    answer_all(box)
    box.advance(899)
    assert len(notifies(box)) == 2
    box.advance(2)                                                         # not refreshed
    assert notifies(box)[-1].headers.get("Subscription-State") == "terminated;reason=timeout"
    assert box.b2bua.mwi_subscriptions == {}
    answer_all(box)
    lamps(box, 1)
    assert len(notifies(box)) == 3                                         # nobody to tell
    box.receive(subscribe(cseq=5, to_tag=tag), PHONE1)
    assert box.responses(PHONE1)[-1].status == 481

    ok = authed(box, subscribe(call_id="mwi3"), PHONE1)
    answer_all(box)
    box.receive(subscribe(call_id="mwi3", cseq=3, expires=0, to_tag=ok.to.tag), PHONE1)
    assert box.responses(PHONE1)[-1].status == 200
    last = notifies(box)[-1]
    assert last.call_id == "mwi3" and last.headers.get("Subscription-State").startswith(
        "terminated")
    assert summary(last)["Messages-Waiting"] == "yes"
    assert box.b2bua.mwi_subscriptions == {} and len(box.b2bua.deadlines) == 0


def test_who_may_subscribe():
    box = Box()
    box.receive(subscribe(ip="127.0.0.99"), STRANGER)                      # not a phone
    assert box.responses(STRANGER)[-1].status == 403
    box.receive(subscribe(), PHONE1)
    assert box.responses(PHONE1)[-1].status == 407                         # no credentials
    assert authed(box, subscribe(call_id="bad"), PHONE1, password="wrong").status == 403
    assert authed(box, subscribe(call_id="x1", account="999"), PHONE1).status == 404
    box.receive(subscribe(call_id="x2", expires=30), PHONE1)
    short = box.responses(PHONE1)[-1]
    assert short.status == 423 and short.headers.get("Min-Expires") == "60"
    box.receive(subscribe(call_id="x3", extra="Accept: application/sdp\r\n"), PHONE1)
    assert box.responses(PHONE1)[-1].status == 406
    box.receive(subscribe(call_id="x4", event="presence"), PHONE1)
    refused = box.responses(PHONE1)[-1]
    assert refused.status == 489 and "message-summary" in refused.headers.get("Allow-Events")
    assert notifies(box) == [] and box.b2bua.mwi_subscriptions == {}
    ok = authed(box, subscribe(call_id="x5"), PHONE1)
    box.receive(subscribe(call_id="x5", cseq=3, to_tag=ok.to.tag, ip="127.0.0.12"), PHONE2)
    assert box.responses(PHONE2)[-1].status == 481                 # someone else's dialog
    for n in range(7):                                               # 8 per extension at most
        assert authed(box, subscribe(call_id=f"many{n}"), PHONE1).status == 200
    assert authed(box, subscribe(call_id="one-too-many"), PHONE1).status == 503


def test_a_fetch_with_expires_0_gets_one_final_notify():
    box = Box()
    lamps(box, 1)
    assert authed(box, subscribe(expires=0), PHONE1).status == 200
    [notify] = notifies(box)
    assert summary(notify)["Messages-Waiting"] == "yes"
    assert notify.headers.get("Subscription-State").startswith("terminated")
    assert box.b2bua.mwi_subscriptions == {}


def test_a_phone_that_refuses_or_never_answers_a_notify_is_forgotten():
    box = Box()
    authed(box, subscribe(), PHONE1)
    authed(box, subscribe("102", "127.0.0.12", call_id="mwi2"), PHONE2, ext="102")
    answer_all(box, PHONE1, 481)                                    # 101 forgot it
    answer_all(box, PHONE2)
    lamps(box, 1)
    assert len(notifies(box, PHONE1)) == 1 and len(notifies(box, PHONE2)) == 2
    box.advance(40)                                                  # 102 unplugged: Timer F
    assert box.b2bua.mwi_subscriptions == {}
    lamps(box, 0)
    assert len(notifies(box, PHONE2)) == 2
