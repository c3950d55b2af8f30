"""Sending the weekly summary: when (pure, `now` passed in), how (SMTP with STARTTLS), and
what was last sent (a small state file, so a restart neither skips nor repeats a week).

Schedule: each Monday from 08:00 box time the previous Monday-to-Sunday week is due, once.
A box that was off on Monday morning sends it when it comes back (that week, not older
ones). A box set up just now starts with the next Monday. A failed send is retried with growing delays (retry.retry_delay: 30 s ... 1 h) and
shown in Settings > Integrations until one succeeds.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
from datetime import date, datetime, time as dtime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from firmware.atomic import atomic_write
from firmware.config import Config, Email
from firmware.integrations.http_post import is_loopback
from firmware.integrations.retry import retry_delay
from firmware.integrations.summary_mail import compose, compose_digest

logger = logging.getLogger(__name__)

SEND_AT = dtime(8, 0)
SMTP_TIMEOUT = 30.0


# -- when (pure) ---------------------------------------------------------------------------

def last_full_week(today: date) -> tuple[date, date]:
    """Monday and Sunday of the last full week before `today`'s week."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def due_week(now: float, tz: ZoneInfo, last_sent: date | None) -> date | None:
    """The Monday of the week whose summary is due at `now`, or None."""
    local = datetime.fromtimestamp(now, tz)
    this_monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(this_monday, SEND_AT, tz):
        this_monday -= timedelta(days=7)              # before Monday 08:00: last week's turn
    week = this_monday - timedelta(days=7)
    return None if last_sent is not None and last_sent >= week else week


def due_month(now: float, tz: ZoneInfo, last_month: date | None) -> date | None:
    """The first day of the month whose summary is due at `now` (from the 1st, 08:00 box
    time: the month before), or None when it was sent."""
    local = datetime.fromtimestamp(now, tz)
    first = local.date().replace(day=1)
    if local.date() == first and local.time() < SEND_AT:
        first = (first - timedelta(days=1)).replace(day=1)    # before 08:00 on the 1st
    month = (first - timedelta(days=1)).replace(day=1)
    return None if last_month is not None and last_month >= month else month


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def next_month_at(now: float, tz: ZoneInfo) -> float:
    """The next 1st of a month, 08:00 box time, after `now`."""
    local = datetime.fromtimestamp(now, tz)
    first = local.date().replace(day=1)
    at = datetime.combine(first, SEND_AT, tz)
    if at.timestamp() <= now:
        at = datetime.combine(month_end(first) + timedelta(days=1), SEND_AT, tz)
    return at.timestamp()


def due_day(now: float, tz: ZoneInfo, last_day: date | None) -> date | None:
    """Today, when the daily digest is due at `now` (08:00 box time, once a day), or None."""
    local = datetime.fromtimestamp(now, tz)
    if local < datetime.combine(local.date(), SEND_AT, tz):
        return None
    return None if last_day is not None and last_day >= local.date() else local.date()


def next_daily_at(now: float, tz: ZoneInfo) -> float:
    local = datetime.fromtimestamp(now, tz)
    at = datetime.combine(local.date(), SEND_AT, tz)
    if at.timestamp() <= now:
        at = datetime.combine(local.date() + timedelta(days=1), SEND_AT, tz)
    return at.timestamp()


def waiting_over_a_day(callbacks: list[dict], now: float) -> list[dict]:
    """The callback-queue entries whose first missed call is more than 24 h old."""
    return [c for c in callbacks
            if datetime.fromisoformat(c["first_missed_at"]).timestamp() <= now - 86400]


def next_send_at(now: float, tz: ZoneInfo) -> float:
    """The next Monday 08:00 box time after `now` (epoch seconds; DST-aware)."""
    local = datetime.fromtimestamp(now, tz)
    monday = local.date() - timedelta(days=local.weekday())
    at = datetime.combine(monday, SEND_AT, tz)
    if at.timestamp() <= now:
        at = datetime.combine(monday + timedelta(days=7), SEND_AT, tz)
    return at.timestamp()


# -- how -----------------------------------------------------------------------------------

class MailError(Exception):
    """The summary could not be sent; the message says why (shown in the panel)."""


def smtp_send(settings: Email, message: EmailMessage, *, ca_file: str | None = None) -> None:
    """Send over SMTP, upgrading with STARTTLS when the server offers it. A password is
    never sent in clear to another machine: without STARTTLS only loopback may log in."""
    try:
        context = ssl.create_default_context(cafile=ca_file or settings.ca_file or None)
    except OSError as exc:
        raise MailError(f"email.ca_file: cannot read {settings.ca_file}: "
                        f"{exc.strerror or exc}") from None
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif settings.username and not is_loopback(settings.smtp_host):
                raise MailError(f"{settings.smtp_host} does not offer STARTTLS; the password "
                                "is not sent in clear")
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the server refused the login ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        raise MailError(f"the server said {exc.smtp_code} {text}") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP: {exc}") from None
    except ssl.SSLError as exc:
        raise MailError(f"TLS: {exc.reason or exc}") from None
    except OSError as exc:
        raise MailError(f"cannot reach {settings.smtp_host}:{settings.smtp_port}: "
                        f"{exc.strerror or exc}") from None


def send_summary(config: Config, tracker, start: date, end: date, now: float,
                 send: Callable[[Email, EmailMessage], None] = smtp_send) -> EmailMessage:
    """Compose the summary of local days start..end and send it; MailError when not sent."""
    if config.email is None or not config.email.weekly_to:
        raise MailError("no [email] weekly_to in the config")
    message = compose(config, tracker.summary(start, end), tracker.callbacks(), start, end, now)
    send(config.email, message)
    logger.info("e-mail: summary %s..%s sent to %d recipient(s)", start, end,
                len(config.email.weekly_to))
    return message


# -- the box's clock -----------------------------------------------------------------------

class SummaryMailer:
    """Sends each week's summary once, from the integrations' sender thread (`tick`)."""

    def __init__(self, config_of: Callable[[], Config], tracker, state_path: Path, *,
                 send: Callable[[Email, EmailMessage], None] = smtp_send):
        self._config_of = config_of
        self._tracker = tracker
        self._path = Path(state_path)
        self._send = send
        self._lock = threading.Lock()
        self._state: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            state = json.loads(self._path.read_text(encoding="utf-8"))
            if isinstance(state, dict):
                return state
            raise ValueError("not an object")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.error("e-mail: %s unreadable (%s); starting afresh", self._path.name, exc)
            return {}

    def _save(self) -> None:
        try:
            atomic_write(self._path, json.dumps(self._state).encode("utf-8"))
        except OSError as exc:
            logger.error("e-mail: cannot save %s: %s", self._path.name, exc)

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self._config_of().box.timezone)

    def _last_week(self) -> date | None:
        try:
            return date.fromisoformat(self._state["last_week"])
        except (KeyError, TypeError, ValueError):
            return None

    def tick(self, now: float) -> bool:
        """Send what is due (the week's summary, the daily digest); whether one was tried."""
        daily = self._tick_daily(now)
        weekly = self._tick_weekly(now)
        return self._tick_monthly(now) or weekly or daily

    def _tick_daily(self, now: float) -> bool:
        config = self._config_of()
        if config.email is None or not config.email.daily_to:
            return False
        with self._lock:
            last = self._state.get("daily_last")
            day = due_day(now, self._tz(), date.fromisoformat(last) if last else None)
            if day is None or now < self._state.get("daily_next_try", 0):
                return False
            waiting = waiting_over_a_day(self._tracker.callbacks(), now)
            if waiting:
                try:
                    self._send(config.email, compose_digest(config, waiting, now))
                except MailError as exc:
                    failures = self._state.get("daily_failures", 0) + 1
                    self._state.update(daily_error=str(exc), daily_failures=failures,
                                       daily_next_try=now + retry_delay(failures))
                    logger.error("e-mail: daily digest not sent: %s", exc)
                    self._save()
                    return True
                logger.info("e-mail: daily digest of %d waiting caller(s) sent", len(waiting))
            self._state.update(daily_last=day.isoformat(), daily_error="", daily_failures=0,
                               daily_next_try=0)
            self._save()
            return bool(waiting)

    def _tick_weekly(self, now: float) -> bool:
        config = self._config_of()
        if config.email is None or not config.email.weekly_to:
            return False
        with self._lock:
            week = due_week(now, self._tz(), self._last_week())
            if week is None or now < self._state.get("next_try", 0):
                return False
            if "last_week" not in self._state:
                # set up just now: the first summary is the next Monday's, not a week the
                # owner has not seen the box in
                self._state["last_week"] = week.isoformat()
                self._save()
                return False
            self._attempt(config, week, week + timedelta(days=6), now)
            return True

    def _tick_monthly(self, now: float) -> bool:
        """The month's summary, from the 1st 08:00, to the same people as the weekly one."""
        config = self._config_of()
        if config.email is None or not config.email.weekly_to:
            return False
        with self._lock:
            last = self._state.get("last_month")
            month = due_month(now, self._tz(), date.fromisoformat(last) if last else None)
            if month is None or now < self._state.get("next_try", 0):
                return False
            if last is None:      # set up just now: the first is the next month's
                self._state["last_month"] = month.isoformat()
                self._save()
                return False
            self._attempt(config, month, month_end(month), now, key="last_month")
            return True

    def _attempt(self, config: Config, start: date, end: date, now: float,
                 scheduled: bool = True, key: str = "last_week") -> str | None:
        try:
            send_summary(config, self._tracker, start, end, now, self._send)
        except MailError as exc:
            failures = self._state.get("failures", 0) + 1
            self._state.update(error=str(exc), failures=failures, failed_at=now)
            if scheduled:
                self._state["next_try"] = now + retry_delay(failures)
            logger.error("e-mail: summary %s..%s not sent: %s%s", start, end, exc,
                         f"; next try in {retry_delay(failures):.0f} s" if scheduled else "")
            self._save()
            return str(exc)
        if scheduled:
            self._state[key] = start.isoformat()
        self._state.update(last_sent=f"{start.isoformat()} – {end.isoformat()}",
                           sent_at=now, error="", failures=0, next_try=0)
        self._save()
        return None

    def send_now(self, now: float | None = None) -> str | None:
        """Send last week's summary now ("send now" in the panel); the error or None."""
        import time

        now = time.time() if now is None else now
        start, end = last_full_week(datetime.fromtimestamp(now, self._tz()).date())
        with self._lock:
            return self._attempt(self._config_of(), start, end, now, scheduled=False)

    def next_wake(self, now: float) -> float:
        with self._lock:
            retry = self._state.get("next_try", 0)
        if retry > now and self._state.get("error"):
            return retry
        wake = min(next_send_at(now, self._tz()), next_month_at(now, self._tz()))
        config = self._config_of()
        if config.email is not None and config.email.daily_to:
            daily_retry = self._state.get("daily_next_try", 0)
            wake = min(wake, daily_retry if daily_retry > now else next_daily_at(now, self._tz()))
        return wake

    def state(self) -> dict[str, Any]:
        """What the panel shows: last sent, the last error and the next try."""
        with self._lock:
            state = dict(self._state)
        tz = self._tz()
        next_try = state.get("next_try") or 0
        return {"last_sent": state.get("last_sent", ""),
                "error": state.get("error", "") or state.get("daily_error", ""),
                "next_try": datetime.fromtimestamp(next_try, tz).strftime("%Y-%m-%d %H:%M")
                if next_try else ""}
