"""The weekly summary e-mail: its schedule (pure, frozen clock), a real SMTP server (aiosmtpd
with STARTTLS and a login) that records the message, failures retried and shown, and
`callbox send-summary`."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from firmware.integrations.mailer import (SummaryMailer, due_day, due_week, last_full_week,
                                          next_send_at)
from tests.e2e.rig import free_port_block
from tests.integrations.integ_helpers import config_with, h
from tests.integrations.smtp_server import PASSWORD, SmtpServer, email_block, make_certificate

WARSAW = ZoneInfo("Europe/Warsaw")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW).timestamp()


def test_the_previous_week_is_due_from_monday_8_00_box_time():
    assert due_week(at("2024-05-13 07:59"), WARSAW, date(2024, 4, 29)) is None
    assert due_week(at("2024-05-13 08:00"), WARSAW, date(2024, 4, 29)) == date(2024, 5, 6)
    assert due_week(at("2024-05-13 08:00"), WARSAW, date(2024, 5, 6)) is None
    assert due_week(at("2024-05-16 12:00"), WARSAW, date(2024, 4, 29)) == date(2024, 5, 6)
    assert due_week(at("2024-05-19 23:59"), WARSAW, date(2024, 5, 6)) is None
    assert next_send_at(at("2024-05-13 07:59"), WARSAW) == at("2024-05-13 08:00")
    assert next_send_at(at("2024-05-13 08:00"), WARSAW) == at("2024-05-20 08:00")
    # the clocks go forward on 2024-03-31: still 08:00 local on the Monday after
    assert next_send_at(at("2024-03-30 12:00"), WARSAW) == at("2024-04-01 08:00")
    assert last_full_week(date(2024, 5, 15)) == (date(2024, 5, 6), date(2024, 5, 12))
    assert due_day(at("2024-05-15 07:59"), WARSAW, date(2024, 5, 14)) is None
    assert due_day(at("2024-05-15 08:00"), WARSAW, date(2024, 5, 14)) == date(2024, 5, 15)
    assert due_day(at("2024-05-15 20:00"), WARSAW, date(2024, 5, 15)) is None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificate):
    server = SmtpServer(*certificate, free_port_block(1))
    yield server
    server.close()


def week_of_calls(tracker):
    """Calls in the week of Monday 2024-05-06: two answered, one missed."""
    h.feed(tracker, h.inbound(at("2024-05-06 10:00"), h.MOBILE, h.SHOP, talk=90),
           h.inbound(at("2024-05-08 12:00"), h.FIXED, h.PAPER, talk=40),
           h.inbound(at("2024-05-10 16:00"), h.MOBILE2, h.SHOP, talk=None))


def test_sent_once_on_monday_morning_as_html_and_plain_text(tmp_path, smtp, make_tracker):
    from firmware.integrations.service import Integrations

    config = config_with(email_block(smtp.port, smtp.cert))
    service = Integrations(config, tmp_path / "data")
    tracker = make_tracker(config, service)
    week_of_calls(tracker)
    state = tmp_path / "email_state.json"
    mailer = SummaryMailer(lambda: config, tracker, state)
    assert not mailer.tick(at("2024-05-08 09:00"))          # set up mid-week: nothing yet
    assert not mailer.tick(at("2024-05-13 07:59"))
    assert mailer.tick(at("2024-05-13 08:00"))
    assert not mailer.tick(at("2024-05-13 08:30"))          # once a week
    assert not SummaryMailer(lambda: config, tracker, state).tick(at("2024-05-13 09:00"))
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert sorted(smtp.envelopes[0].rcpt_tos) == ["manager@hotel.example",
                                                   "owner@hotel.example"]
    assert message["From"] == "callbox@hotel.example"
    # in the box's language (the test box is in Poland; docs/i18n.md)
    assert message["Subject"] == "Hotel Zdroj: połączenia 6.05.2024 – 12.05.2024"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Odebrane: 2" in text and "Nieodebrane: 1" in text and "Do oddzwonienia (teraz): 1" in text
    assert "Shop window: 2" in text and h.MOBILE2 in text
    assert ">Odebrane<" in html and "Shop window" in html and h.MOBILE2 in html
    assert PASSWORD not in message.as_string()
    assert mailer.state()["last_sent"] == "2024-05-06 – 2024-05-12"
    assert mailer.next_wake(at("2024-05-13 09:00")) == at("2024-05-20 08:00")


def test_a_refused_login_is_retried_and_shown(tmp_path, smtp, make_tracker):
    from firmware.integrations.service import Integrations

    config = config_with(email_block(smtp.port, smtp.cert))
    tracker = make_tracker(config, Integrations(config, tmp_path / "data"))
    mailer = SummaryMailer(lambda: config, tracker, tmp_path / "email_state.json")
    mailer.tick(at("2024-05-08 09:00"))
    smtp.refuse_login = True
    assert mailer.tick(at("2024-05-13 08:00"))
    state = mailer.state()
    assert "refused the login" in state["error"] and state["next_try"] == "2024-05-13 08:00"
    assert not mailer.tick(at("2024-05-13 08:00") + 10)     # waits 30 s before trying again
    smtp.refuse_login = False
    assert mailer.tick(at("2024-05-13 08:00") + 30)
    assert len(smtp.messages) == 1 and mailer.state()["error"] == ""


def test_an_unreachable_server_is_a_clear_error(tmp_path, make_tracker):
    from firmware.integrations.service import Integrations

    config = config_with(email_block(free_port_block(1), tmp_path / "none.pem"))
    tracker = make_tracker(config, Integrations(config, tmp_path / "data"))
    mailer = SummaryMailer(lambda: config, tracker, tmp_path / "email_state.json")
    error = mailer.send_now(at("2024-05-13 08:00"))
    assert error and ("cannot reach" in error or "TLS" in error or "No such file" in error)


def test_callbox_send_summary_command(tmp_path, smtp, make_tracker):
    from firmware.integrations.service import Integrations

    text = h.CONFIG + email_block(smtp.port, smtp.cert)
    path = tmp_path / "callbox.toml"
    path.write_text(text)
    config = config_with(email_block(smtp.port, smtp.cert))
    tracker = make_tracker(config, Integrations(config, tmp_path / "data"))
    week_of_calls(tracker)                  # the tracker keeps running: the store is locked
    done = subprocess.run([sys.executable, "-m", "firmware", "send-summary", "--config",
                           str(path), "--data", str(tmp_path / "data"), "--from", "2024-05-06",
                           "--to", "2024-05-12"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sent to owner@hotel.example" in done.stdout
    assert "Odebrane: 2" in smtp.messages[0].get_body(("plain",)).get_content()
    bad = subprocess.run([sys.executable, "-m", "firmware", "send-summary", "--config",
                          str(path), "--data", str(tmp_path / "data"), "--from", "2024-13-01",
                          "--to", "2024-05-12"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "--from: not a date" in bad.stdout


def test_daily_digest_of_callers_waiting_over_a_day(tmp_path, smtp, make_tracker):
    from firmware.integrations.service import Integrations

    block = email_block(smtp.port, smtp.cert) + 'daily_to = ["desk@hotel.example"]\n'
    config = config_with(block)
    tracker = make_tracker(config, Integrations(config, tmp_path / "data"))
    h.feed(tracker, h.inbound(at("2024-05-13 10:00"), h.MOBILE2, h.SHOP, talk=None),
           h.inbound(at("2024-05-14 17:00"), h.FIXED, h.PAPER, talk=None))
    mailer = SummaryMailer(lambda: config, tracker, tmp_path / "email_state.json")
    mailer.tick(at("2024-05-14 09:00"))          # the weekly baseline; nobody waits a day yet
    assert smtp.messages == []
    assert mailer.next_wake(at("2024-05-14 09:00")) == at("2024-05-15 08:00")
    assert not mailer.tick(at("2024-05-15 07:59"))
    assert mailer.tick(at("2024-05-15 08:00"))
    assert not mailer.tick(at("2024-05-15 12:00"))        # once a day
    assert len(smtp.messages) == 1
    digest = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["desk@hotel.example"]
    assert digest["Subject"] == "Hotel Zdroj: dzwoniący czekający ponad dobę (1)"
    text = digest.get_body(("plain",)).get_content()
    assert h.MOBILE2 in text and h.FIXED not in text      # 15 h is not over a day yet
    assert h.MOBILE2 in digest.get_body(("html",)).get_content()


def test_the_monthly_summary_goes_out_on_the_first_at_8_00(tmp_path, smtp, make_tracker):
    from firmware.integrations.mailer import due_month
    from firmware.integrations.service import Integrations

    assert due_month(at("2024-06-01 07:59"), WARSAW, date(2024, 4, 1)) is None
    assert due_month(at("2024-06-01 08:00"), WARSAW, date(2024, 4, 1)) == date(2024, 5, 1)
    assert due_month(at("2024-06-01 08:00"), WARSAW, date(2024, 5, 1)) is None
    config = config_with(email_block(smtp.port, smtp.cert))
    tracker = make_tracker(config, Integrations(config, tmp_path / "data"))
    mailer = SummaryMailer(lambda: config, tracker, tmp_path / "email_state.json")
    assert not mailer.tick(at("2024-05-22 09:00"))          # set up: nothing sent yet
    assert mailer.tick(at("2024-05-27 08:00"))              # Monday: the week's
    assert not mailer.tick(at("2024-06-01 07:59"))
    assert mailer.next_wake(at("2024-05-31 12:00")) == at("2024-06-01 08:00")
    assert mailer.tick(at("2024-06-01 08:00"))              # a Saturday: only the month's
    assert not mailer.tick(at("2024-06-01 09:00"))
    assert [m["Subject"] for m in smtp.messages] == [
        "Hotel Zdroj: połączenia 20.05.2024 – 26.05.2024",
        "Hotel Zdroj: połączenia 1.05.2024 – 31.05.2024"]
