"""The house listens to the tracker: the LEDs, the desk phones' message lamps and the SMS alerts
follow what the tracker publishes, wired as box.py wires them; the tracker drives no hardware."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fake_modem import FakeModem

from firmware.box import Box
from firmware.config import parse_config
from firmware.pbx import events
from firmware.pbx.mwi import MessagesWaiting

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 6, 14, 5, tzinfo=ZoneInfo("Europe/Warsaw")).timestamp()
CONFIG = """
[box]
timezone = "Europe/Warsaw"
country = "PL"
[sip]
listen = "127.0.0.1:5999"
[[extension]]
number = "101"
password = "secret-101-pw"
[[campaign]]
name = "Shop window"
number = "+48221234567"
ring = ["101"]
[modem]
device = "{device}"
alert_numbers = ["+48600000001"]
[hw]
callback_led = 17
"""


def test_the_tracker_imports_no_hardware():
    """Neither in its own source nor through anything it imports."""
    for path in sorted((ROOT / "firmware" / "tracker").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(("gpiozero", "firmware.hw", "serial")), \
                    f"{path.name} imports {name}"
    modules = [f"firmware.tracker.{p.stem}" for p in (ROOT / "firmware" / "tracker").glob("*.py")
               if p.stem != "__init__"]
    probe = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
             "print(sorted(n for n in sys.modules if n.split('.')[0] == 'gpiozero'"
             " or n.startswith('firmware.hw') or n.split('.')[0] == 'serial'))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert found == "[]"


@pytest.fixture
def house(tmp_path, mock_pins, monkeypatch):
    """A Box with its tracker, LEDs (on mock pins) and SMS alerts (a fake modem on a pty),
    wired by box.py exactly as `callbox run` does; no SIP sockets are opened."""
    monkeypatch.setattr("firmware.hw.indicators.default_pin_factory", lambda: mock_pins)
    modem = FakeModem(tmp_path / "ttyGSM")
    (tmp_path / "data").mkdir()
    box = Box(parse_config(CONFIG.format(device=modem.link)), tmp_path / "data")
    box.create_tracker()
    box.start_hw()
    box.tracker.start()
    yield box, modem
    box.stop()
    modem.drop()


def test_a_call_ended_before_any_answer_sends_the_sms_and_lights_the_lamps(house, mock_pins):
    box, modem = house
    led = mock_pins.pin(17)
    assert led.state is False and box.calls.mailbox == MessagesWaiting(0, 0)
    # An inbound call that ends with no answer but with the reason "completed" (how the
    # issue saw a caller's BYE before any answer reach the bus): missed for the tracker, and
    # so for the SMS too -- the modem no longer judges call events by itself.
    for event in (events.CallOffered("c1", "+48221234567", "+48600100200", T0),
                  events.CallRinging("c1", "101", T0 + 1),
                  events.CallEnded("c1", events.COMPLETED, T0 + 9)):
        box.bus.publish(event)
    box.tracker.flush()
    [call] = box.tracker.callbacks()
    assert call["number"] == "+48600100200"
    assert led.state is True
    assert box.calls.mailbox == MessagesWaiting(1, 1)          # the phones' lamps: lit
    [(to, text)] = modem.wait_for_sms(1)
    assert to == "+48600000001" and text.startswith("Nieodebrane polaczenie od +48600100200 na Shop")

    box.tracker.dismiss_callback("+48600100200", "called back from a mobile", "owner")
    assert led.state is False and box.calls.mailbox == MessagesWaiting(0, 0)
    # an answered call sends nothing
    for event in (events.CallOffered("c2", "+48221234567", "+48600100201", T0 + 60),
                  events.CallAnswered("c2", "101", T0 + 62),
                  events.CallEnded("c2", events.COMPLETED, T0 + 90)):
        box.bus.publish(event)
    box.tracker.flush()
    time.sleep(0.3)
    assert len(modem.sent) == 1 and led.state is False


def test_moving_the_led_to_another_pin_shows_the_same_state_there(house, mock_pins):
    box, _ = house
    box.bus.publish(events.CallOffered("c1", "+48221234567", "+48600100200", T0))
    box.bus.publish(events.CallEnded("c1", events.RING_TIMEOUT, T0 + 30))
    box.tracker.flush()
    assert mock_pins.pin(17).state is True
    moved = parse_config(CONFIG.format(device="/dev/null").replace("callback_led = 17",
                                                                   "callback_led = 22"))
    box.indicators.reconfigure(moved.hw)
    assert mock_pins.pin(22).state is True
