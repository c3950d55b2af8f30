"""The GSM modem against a fake one on a pseudo-terminal: the AT dialogue, every trouble (no SIM,
no network, timeouts, the modem unplugged) and the alerts that wait for it, on disk."""

import json
import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fake_modem import FakeModem

from firmware.config import ConfigError, parse_config
from firmware.hw.modem import (Alerter, MissedCall, MissedCalls, Modem, ModemGone, ModemTimeout,
                               NoNetwork, NoSim, SimLocked, SmsRefused, alert_text, batch_texts,
                               retry_delay, sms_text)
from firmware.pbx import events

WARSAW = ZoneInfo("Europe/Warsaw")
T0 = datetime(2024, 5, 6, 14, 5, tzinfo=WARSAW).timestamp()


@pytest.fixture
def fake(tmp_path):
    modem = FakeModem(tmp_path / "ttyGSM")
    yield modem
    modem.drop()


def modem_for(fake, **options) -> Modem:
    options = {"timeout": 0.5, "sms_timeout": 0.5, **options}
    return Modem(str(fake.link), **options)


# -- the AT dialogue ----------------------------------------------------------------------------

def test_sends_an_sms(fake):
    with modem_for(fake) as modem:
        modem.ready()
        assert modem.send_sms("+48600100200", "Missed call from +48221234567") == 1
    assert fake.sent == [("+48600100200", "Missed call from +48221234567")]
    assert fake.commands[:5] == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CMGF=1"]
    assert fake.commands[5:] == ["AT+CREG?", 'AT+CMGS="+48600100200"']


def test_unlocks_the_sim_with_its_pin(tmp_path):
    fake = FakeModem(tmp_path / "tty", pin="4321")
    try:
        with modem_for(fake, pin="4321") as modem:
            modem.ready()
            modem.send_sms("+48600100200", "hello")
        assert 'AT+CPIN="4321"' in fake.commands and fake.sent
    finally:
        fake.drop()


def test_a_refused_pin_is_never_tried_again(tmp_path):
    fake = FakeModem(tmp_path / "tty", pin="4321")
    try:
        modem = modem_for(fake, pin="1111")
        for _ in range(3):
            with pytest.raises(SimLocked):
                modem.ready()
            modem.close()
        assert fake.pin_tries == 1 and modem.pin_rejected
        with pytest.raises(SimLocked, match="needs its PIN"):
            modem_for(fake).ready()                      # no PIN configured at all
    finally:
        fake.drop()


def test_no_sim(fake):
    fake.sim = False
    with modem_for(fake) as modem, pytest.raises(NoSim):
        modem.ready()


def test_no_network(fake):
    fake.network = False
    with modem_for(fake) as modem, pytest.raises(NoNetwork, match="searching"):
        modem.ready()


def test_timeout(fake):
    fake.silent = True
    with modem_for(fake, timeout=0.2) as modem, pytest.raises(ModemTimeout):
        modem.ready()


def test_modem_gone(fake, tmp_path):
    with modem_for(fake) as modem:
        modem.ready()
        fake.drop()
        with pytest.raises(ModemGone):
            modem.send_sms("+48600100200", "hello")
        with pytest.raises(ModemGone):                   # unplugged: the port is gone too
            modem.ready()
    with pytest.raises(ModemGone):
        Modem(str(tmp_path / "no-such-port")).ready()


def test_sms_refused(fake):
    fake.refuse_sms = True
    with modem_for(fake) as modem:
        modem.ready()
        with pytest.raises(SmsRefused) as caught:
            modem.send_sms("+48600100200", "hello")
    assert caught.value.code == 500


# -- texts -------------------------------------------------------------------------------------

def test_alert_text():
    call = MissedCall("+48600100200", "Hotel Zdrój – okno", T0)
    assert alert_text(call, WARSAW, T0 + 60) == \
        "Missed call from +48600100200 on Hotel Zdroj - okno at 14:05"
    assert alert_text(call, WARSAW, T0 + 86400).endswith("at 2024-05-06 14:05")
    assert sms_text("Łódź {ß}") == "Lodz ?ss?"


def test_batch_texts_fit_in_sms():
    calls = [MissedCall(f"+4860010{i:04d}", "Shop window", T0 + 60 * i) for i in range(12)]
    texts = batch_texts(calls, WARSAW, T0)
    assert len(texts) > 1 and all(len(t) <= 160 for t in texts)
    assert texts[0].startswith(f"12 missed calls (1/{len(texts)}):\n14:05 +48600100000 Shop")
    assert sum(t.count("\n") for t in texts) == 12
    assert batch_texts(calls[:1], WARSAW, T0) == ["1 missed call:\n14:05 +48600100000 Shop window"]


def test_sms_in_the_boxs_language_with_its_plurals():
    calls = [MissedCall(f"+4860010{i:04d}", "Witryna", T0 + 60 * i) for i in range(5)]
    headers = [batch_texts(calls[:n], WARSAW, T0, "pl")[0].split(":\n")[0].split(" (")[0]
               for n in (1, 2, 5)]
    assert headers == ["1 nieodebrane polaczenie", "2 nieodebrane polaczenia",
                       "5 nieodebranych polaczen"]
    assert alert_text(calls[0], WARSAW, T0 + 60, "pl") == \
        "Nieodebrane polaczenie od +48600100000 na Witryna o 14:05"


def test_cyrillic_is_spelled_in_latin_letters():
    assert sms_text("Пропущенный звонок: Витрина", "ru") == "Propushchennyy zvonok: Vitrina"
    assert sms_text("Пропуснато обаждане: Щъркел", "bg") == "Propusnato obazhdane: Shtarkel"


def test_retry_delay_doubles_up_to_a_limit():
    assert [retry_delay(n, 10, 60) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_missed_calls_pairing():
    campaigns = {"+48221234567": "Shop window"}.get
    pairing = MissedCalls()
    feed = [
        events.CallOffered("a", "+48221234567", "+48600100200", T0),
        events.CallOffered("b", "+48221234567", "+48600100201", T0),
        events.CallOffered("c", "+48999999999", "+48600100202", T0),      # not a campaign
        events.DialledOut("d", "101", "+48600100203", T0),
        events.CallRinging("a", "101", T0),
        events.CallAnswered("b", "101", T0 + 5),
        events.CallEnded("a", events.CALLER_HANGUP, T0 + 9),
        events.CallEnded("b", events.COMPLETED, T0 + 60),
        events.CallEnded("c", events.RING_TIMEOUT, T0 + 30),
        events.CallEnded("d", events.RING_TIMEOUT, T0 + 30),
    ]
    missed = [m for m in (pairing.feed(e, campaigns) for e in feed) if m]
    assert missed == [MissedCall("+48600100200", "Shop window", T0)]


def test_modem_config():
    config = parse_config(MODEM_CONFIG.format(device="/dev/ttyUSB2", batch=15))
    assert config.modem.device == "/dev/ttyUSB2" and config.modem.pin == "1234"
    assert config.modem.alert_numbers == ("+48600000001", "+48600000002")
    assert config.modem.batch_minutes == 15
    assert parse_config("").modem is None
    with pytest.raises(ConfigError) as caught:
        parse_config('[modem]\npin = 1234\nalert_numbers = []\nbatch_minutes = -1\nbaud = 9600\n')
    assert sorted(caught.value.problems) == [
        "modem.alert_numbers: must name at least one phone number",
        "modem.batch_minutes: must be between 0 and 1440",
        "modem.baud: unknown key",
        "modem.device: missing",
        "modem.pin: must be a string"]
    with pytest.raises(ConfigError) as caught:
        parse_config('[modem]\ndevice = "/dev/ttyUSB2"\npin = "12"\nalert_numbers = ["x"]\n')
    assert caught.value.problems == [
        'modem.pin: must be 4 to 8 digits in quotes, like "1234"',
        "modem.alert_numbers: 'x' is not a phone number"]


# -- the alerter: events in, SMS out, nothing lost -----------------------------------------------

MODEM_CONFIG = """
[box]
timezone = "Europe/Warsaw"
[[campaign]]
name = "Shop window"
number = "+48221234567"
[modem]
device = "{device}"
pin = "1234"
alert_numbers = ["600 000 001", "+48600000002"]
batch_minutes = {batch}
"""


class Clock:
    """Stands still at `now` until a test moves it."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def running_clock(start: float = T0):
    """Runs like the real clock, from `start` (so retries come due)."""
    began = time.monotonic()
    return lambda: start + time.monotonic() - began


def alerter_for(fake, data_dir, batch=0, clock=None, **options) -> Alerter:
    fake.pin, fake.unlocked = "1234", False
    config = parse_config(MODEM_CONFIG.format(device=fake.link, batch=batch))
    modem = Modem(str(fake.link), pin="1234", timeout=0.3, sms_timeout=0.3)
    return Alerter(config, data_dir, modem=modem, clock=clock or running_clock(),
                   first_retry=0.05, max_retry=0.2, **options)


def missed(alerter, call_id: str, caller: str = "+48600100200", at: float = T0) -> None:
    alerter.submit(events.CallOffered(call_id, "+48221234567", caller, at))
    alerter.submit(events.CallEnded(call_id, events.RING_TIMEOUT, at + 30))


def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def queued(data_dir) -> dict:
    return json.loads((data_dir / "alerts.json").read_text())


def test_one_sms_per_missed_call_to_each_number(fake, tmp_path):
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    try:
        missed(alerter, "a")
        alerter.submit(events.CallOffered("b", "+48221234567", "+48600100201", T0))
        alerter.submit(events.CallAnswered("b", "101", T0 + 3))
        alerter.submit(events.CallEnded("b", events.COMPLETED, T0 + 60))
        sent = fake.wait_for_sms(2)
        wait_until(lambda: alerter.pending() == (0, 0))
    finally:
        alerter.stop()
    text = "Nieodebrane polaczenie od +48600100200 na Shop window o 14:05"   # a box in PL
    assert sorted(sent) == [("+48600000001", text), ("+48600000002", text)]
    assert queued(tmp_path) == {"missed": [], "outbox": [], "pin_rejected": ""}


def test_batches_every_n_minutes(fake, tmp_path):
    clock = Clock(T0)
    alerter = alerter_for(fake, tmp_path, batch=5, clock=clock)
    alerter.start()
    try:
        missed(alerter, "a", "+48600100200", T0)
        missed(alerter, "b", "+48600100201", T0 + 60)
        wait_until(lambda: alerter.pending() == (2, 0))
        clock.now = T0 + 4 * 60
        alerter.wake()
        time.sleep(0.1)
        assert fake.sent == []
        assert len(queued(tmp_path)["missed"]) == 2       # on disk while they wait
        clock.now = T0 + 5 * 60
        alerter.wake()
        sent = fake.wait_for_sms(2)
    finally:
        alerter.stop()
    assert sorted(n for n, _ in sent) == ["+48600000001", "+48600000002"]
    assert sent[0][1] == "2 nieodebrane polaczenia:\n14:05 +48600100200 Shop window\n" \
                         "14:06 +48600100201 Shop window"


@pytest.mark.parametrize("trouble", ["sim", "network", "silent", "refuse_sms"])
def test_alerts_wait_for_the_modem(fake, tmp_path, trouble, caplog):
    setattr(fake, trouble, trouble in ("silent", "refuse_sms"))
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    try:
        missed(alerter, "a")
        wait_until(lambda: sum("retry in" in r.getMessage() for r in caplog.records
                               if r.levelno == logging.WARNING) >= 2)   # tried, tried again
        assert fake.sent == [] and len(queued(tmp_path)["outbox"]) == 2
        setattr(fake, trouble, trouble not in ("silent", "refuse_sms"))
        sent = fake.wait_for_sms(2)
        wait_until(lambda: alerter.pending() == (0, 0))
    finally:
        alerter.stop()
    assert len(sent) == 2


def test_modem_unplugged_and_back(fake, tmp_path):
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    try:
        missed(alerter, "a", "+48600100200")
        fake.wait_for_sms(2)
        fake.drop()
        missed(alerter, "b", "+48600100201")
        wait_until(lambda: alerter.pending() == (0, 2))
        time.sleep(0.3)
        fake.plug_in()                                   # back, echo on, SIM locked again
        fake.wait_for_sms(4)
        wait_until(lambda: alerter.pending() == (0, 0))
    finally:
        alerter.stop()
    assert [t[1].split(" od ")[1][:12] for t in fake.sent] == ["+48600100200"] * 2 + ["+48600100201"] * 2


def test_unsent_alerts_survive_a_restart(fake, tmp_path):
    fake.network = False
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    missed(alerter, "a")
    wait_until(lambda: alerter.pending() == (0, 2))
    alerter.stop()
    fake.network = True
    assert len(queued(tmp_path)["outbox"]) == 2
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    try:
        assert len(fake.wait_for_sms(2)) == 2
    finally:
        alerter.stop()


def test_refused_pin_is_remembered_across_restarts(fake, tmp_path):
    for _ in range(2):
        alerter = alerter_for(fake, tmp_path)
        fake.pin = "9999"                                # the SIM's real PIN differs
        tries = fake.commands.count("AT+CPIN?")
        alerter.start()
        missed(alerter, "a")
        wait_until(lambda: fake.commands.count("AT+CPIN?") >= tries + 3)
        alerter.stop()
    assert fake.pin_tries == 1
    assert queued(tmp_path)["pin_rejected"]
    assert len(queued(tmp_path)["outbox"]) == 4          # nothing sent, nothing lost


def test_damaged_queue_file_is_set_aside(fake, tmp_path):
    (tmp_path / "alerts.json").write_text("{not json")
    alerter = alerter_for(fake, tmp_path)
    alerter.start()
    try:
        missed(alerter, "a")
        assert len(fake.wait_for_sms(2)) == 2
    finally:
        alerter.stop()
    assert len(list(tmp_path.glob("alerts.json.bad-*"))) == 1
