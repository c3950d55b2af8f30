"""GSM modem: an SMS to the owner for each missed call (or a batch every N minutes).

- `Modem`: AT commands over pyserial's `serial_for_url` (a path like /dev/ttyUSB2, or any
  pyserial URL). Every failure is a `ModemError`: no SIM, a locked SIM, no network, a timeout,
  the modem gone (unplugged: pyserial's SerialException), an SMS the network refused.
- `Alerter`: a listener of the tracker (`call.missed`, tracker/publish.py) with its own thread:
  the tracker alone decides what a missed call is, so the SMS, the callback queue and the
  reports always agree (a caller's BYE before any answer, too).

Why it is shaped like this: an alert must survive a dead modem, a missing SIM and a power cut.
So state lives in data/alerts.json (written atomically, fsync'd, before anything counts as
done): the missed calls waiting for their batch and the outbox of SMS not yet sent. The thread
retries with back-off (`retry_delay`) and keeps every message until the modem takes it; an SMS
cut off mid-send may go out twice, never zero times. A PIN the SIM refused is never sent again
(three wrong tries lock the SIM for good), until the config names another PIN.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import serial

from firmware.atomic import atomic_write
from firmware.webui.i18n import country_language, ngettext, using_language
from firmware.webui.i18n import gettext as _
from firmware.config import Config
from firmware.tracker.publish import CALL_MISSED

logger = logging.getLogger(__name__)

SMS_LENGTH = 160           # characters of one text-mode SMS in the GSM 7-bit alphabet
READ_SLICE = 0.05          # seconds one serial read waits; deadlines are checked between reads
FIRST_RETRY = 15.0         # seconds before the first retry; doubles up to MAX_RETRY
MAX_RETRY = 900.0
MAX_OUTBOX = 500           # unsent SMS kept at most; beyond that the oldest go (logged)
MAX_MISSED = 200           # missed calls waiting for a batch; more compose the batch early

# Error codes of 3GPP TS 27.007 (+CME ERROR) that name the SIM's state.
CME_NO_SIM = {10, 13}      # SIM not inserted, SIM failure
CME_SIM_BUSY = 14
CME_WRONG_PIN = 16
_CME_TEXT = {"sim not inserted": 10, "sim failure": 13, "sim busy": 14,
             "incorrect password": 16, "sim pin required": 11, "sim puk required": 12}
_CREG = {0: "not searching", 2: "searching", 3: "registration denied", 4: "unknown"}
_EOL = re.compile(rb"[\r\n]")
_ERROR = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*)$")


class ModemError(Exception):
    """The SMS could not go out now; the alert stays queued."""


class ModemGone(ModemError, OSError):
    """The serial port cannot be opened, or it vanished (modem unplugged, USB reset)."""


class ModemTimeout(ModemError, TimeoutError):
    """The modem did not answer in time."""


class NoSim(ModemError):
    """No SIM card (+CME ERROR: 10) or a broken one."""


class SimLocked(ModemError):
    """The SIM wants a PIN we do not have (or it refused ours), or its PUK."""


class NoNetwork(ModemError):
    """Not registered on a mobile network (AT+CREG? stat other than 1 or 5)."""


class CommandFailed(ModemError):
    """ERROR, +CME ERROR or +CMS ERROR answering `command`; `code` when numeric."""

    def __init__(self, command: str, answer: str, code: int | None = None):
        super().__init__(f"{command}: {answer}")
        self.command, self.answer, self.code = command, answer, code


class SmsRefused(CommandFailed):
    """+CMS ERROR: the network or modem refused this SMS (bad number, no credit...)."""


class Modem:
    """One GSM modem on a serial port, spoken to with AT commands. Not thread-safe."""

    def __init__(self, url: str, *, pin: str = "", timeout: float = 5.0,
                 sms_timeout: float = 60.0, baudrate: int = 115200,
                 open_serial: Callable[..., Any] = serial.serial_for_url):
        self.url, self.pin = url, pin
        self.timeout, self.sms_timeout = timeout, sms_timeout
        self.pin_rejected = False
        self._baudrate = baudrate
        self._open_serial = open_serial
        self._port: Any = None
        self._buffer = bytearray()
        self._prepared = False

    # -- the port -------------------------------------------------------------------------
    def open(self) -> None:
        if self._port is not None:
            return
        try:
            self._port = self._open_serial(self.url, baudrate=self._baudrate,
                                           timeout=READ_SLICE, write_timeout=self.timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ModemGone(f"cannot open {self.url}: {exc}") from exc
        self._buffer.clear()
        self._prepared = False

    def close(self) -> None:
        """Close the port (idempotent); the next `ready()` opens and prepares it again."""
        port, self._port = self._port, None
        self._prepared = False
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def __enter__(self) -> "Modem":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _write(self, data: bytes) -> None:
        if self._port is None:
            raise ModemGone(f"{self.url} is not open")
        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as exc:
            self.close()
            raise ModemTimeout(f"{self.url}: write timed out") from exc
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise ModemGone(f"{self.url}: {exc}") from exc

    def _read_line(self, deadline: float, prompt: bool = False) -> str:
        """The next non-empty line, or ">" (the SMS text prompt) when `prompt`."""
        while True:
            match = _EOL.search(self._buffer)
            if match:
                line = bytes(self._buffer[:match.start()]).decode("ascii", "replace").strip()
                del self._buffer[:match.end()]
                if line:
                    return line
                continue
            if prompt and self._buffer.lstrip().startswith(b">"):
                self._buffer.clear()
                return ">"
            if time.monotonic() >= deadline:
                raise ModemTimeout(f"{self.url}: no answer in time")
            if self._port is None:
                raise ModemGone(f"{self.url} is not open")
            try:
                self._buffer += self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                self.close()
                raise ModemGone(f"{self.url}: {exc}") from exc

    # -- commands -------------------------------------------------------------------------
    def command(self, command: str, timeout: float | None = None) -> list[str]:
        """Send one AT command; its information lines up to OK. Errors raise."""
        self._write(command.encode("ascii") + b"\r")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        lines: list[str] = []
        while True:
            line = self._read_line(deadline)
            if line == command:            # the modem's echo, before ATE0 took effect
                continue
            if line == "OK":
                return lines
            _raise_error(command, line)
            lines.append(line)

    def prepare(self) -> None:
        """Open the port, wake the modem, unlock the SIM and choose text mode."""
        self.open()
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise ModemGone(f"{self.url}: {exc}") from exc
        self._buffer.clear()
        for attempt in range(3):          # the first AT may be eaten by a modem waking up
            try:
                self.command("AT", timeout=min(self.timeout, 2.0))
                break
            except ModemTimeout:
                if attempt == 2:
                    raise
        self.command("ATE0")              # no echo
        self.command("AT+CMEE=1")         # numeric +CME ERROR codes
        self._unlock()
        self.command("AT+CMGF=1")         # SMS in text mode
        self._prepared = True

    def sim_state(self) -> str:
        """"READY", "SIM PIN", "SIM PUK", ... from AT+CPIN?; NoSim without a card."""
        try:
            lines = self.command("AT+CPIN?")
        except CommandFailed as exc:
            if exc.code in CME_NO_SIM:
                raise NoSim(f"no SIM card in the modem ({exc.answer})") from None
            raise
        for line in lines:
            if line.upper().startswith("+CPIN:"):
                return line.split(":", 1)[1].strip().upper()
        raise CommandFailed("AT+CPIN?", "no +CPIN line in the answer")

    def _unlock(self) -> None:
        state = self.sim_state()
        if state == "SIM PIN":
            if not self.pin:
                raise SimLocked("the SIM needs its PIN: set [modem] pin")
            if self.pin_rejected:
                raise SimLocked("the SIM refused the PIN in [modem] pin; not trying it again")
            try:
                self.command(f'AT+CPIN="{self.pin}"')
            except CommandFailed as exc:
                if exc.code in (None, CME_WRONG_PIN):
                    self.pin_rejected = True
                    raise SimLocked(f"the SIM refused the PIN in [modem] pin ({exc.answer})") \
                        from None
                raise
            deadline = time.monotonic() + self.timeout
            while (state := self._state_after_pin()) != "READY" \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
        if state != "READY":
            raise SimLocked(f"the SIM is locked ({state})")

    def _state_after_pin(self) -> str:
        try:
            return self.sim_state()
        except CommandFailed as exc:     # SIM busy for a moment after the PIN
            if exc.code != CME_SIM_BUSY:
                raise
            return "BUSY"

    def check_network(self) -> None:
        """NoNetwork unless registered at home (1) or roaming (5)."""
        for line in self.command("AT+CREG?"):
            if line.upper().startswith("+CREG:"):
                fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
                stat = int(fields[1] if len(fields) > 1 else fields[0])
                if stat in (1, 5):
                    return
                raise NoNetwork(f"not on a mobile network ({_CREG.get(stat, stat)})")
        raise CommandFailed("AT+CREG?", "no +CREG line in the answer")

    def ready(self) -> None:
        """Open and prepare the modem when needed, then check the network."""
        if not self._prepared:
            self.prepare()
        self.check_network()

    def send_sms(self, number: str, text: str) -> int | None:
        """Send one text SMS to `number`; the message reference from +CMGS."""
        self._write(f'AT+CMGS="{number}"\r'.encode("ascii"))
        deadline = time.monotonic() + self.timeout
        try:
            while (line := self._read_line(deadline, prompt=True)) != ">":
                _raise_error("AT+CMGS", line, SmsRefused)
        except ModemTimeout:
            if self._port is not None:
                self._write(b"\x1b")          # leave the text prompt, if we are in it
            raise
        self._write(sms_text(text).encode("ascii") + b"\x1a")
        deadline = time.monotonic() + self.sms_timeout
        reference = None
        while (line := self._read_line(deadline)) != "OK":
            _raise_error("AT+CMGS", line, SmsRefused)
            if line.upper().startswith("+CMGS:"):
                value = line.split(":", 1)[1].strip()
                reference = int(value) if value.isdigit() else None
        return reference


def _raise_error(command: str, line: str, kind: type[CommandFailed] = CommandFailed) -> None:
    """Raise for a final error line (ERROR, +CME ERROR, +CMS ERROR); return otherwise."""
    if line == "ERROR":
        raise kind(command, line)
    match = _ERROR.match(line)
    if match is None:
        return
    detail = match.group(2).strip()
    code = int(detail) if detail.isdigit() else _CME_TEXT.get(detail.lower())
    raise (SmsRefused if match.group(1) == "CMS" else kind)(command, line, code)


# -- texts ----------------------------------------------------------------------------------
_GSM_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                " \n.,:;!?+-/()'\"#%&*=<>")
_SPELLED = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o",
                          "Ø": "O", "–": "-", "—": "-", "’": "'", "„": '"', "”": '"'})


_CYRILLIC = dict(zip("абвгдезийклмнопрстуфхцчшыэ",
                     "a b v g d e z i y k l m n o p r s t u f h ts ch sh y e".split()))
_CYRILLIC.update({"ё": "e", "ж": "zh", "щ": "shch", "ъ": "", "ь": "", "ю": "yu", "я": "ya"})
_BULGARIAN = {**_CYRILLIC, "щ": "sht", "ъ": "a", "ь": "y"}


def _latin(table: dict[str, str]) -> dict[int, str]:
    """Russian or Bulgarian letters in Latin ones (the SMS text mode has no Cyrillic)."""
    spelled = {ord(k): v for k, v in table.items()}
    spelled.update({ord(k.upper()): v[:1].upper() + v[1:] for k, v in table.items()})
    return spelled


_SPELLED_RU, _SPELLED_BG = _latin(_CYRILLIC), _latin(_BULGARIAN)


def sms_text(text: str, lang: str | None = None) -> str:
    """`text` in the characters every modem's text mode sends unchanged (GSM 7-bit basics):
    accents dropped ("Zdrój" -> "Zdroj"), Cyrillic spelled in Latin letters ("Пропущенный" ->
    "Propushchennyy"; Bulgarian's own way for "bg"), anything else as "?"."""
    text = text.translate(_SPELLED_BG if lang == "bg" else _SPELLED_RU)
    plain = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    return "".join(ch if ch in _GSM_SAFE else "?" for ch in plain
                   if not unicodedata.combining(ch))


@dataclass(frozen=True)
class MissedCall:
    caller: str
    campaign: str
    at: float


def _when(at: float, tz: tzinfo, now: float) -> str:
    local = datetime.fromtimestamp(at, tz)
    if local.date() == datetime.fromtimestamp(now, tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def alert_text(call: MissedCall, tz: tzinfo, now: float, lang: str = "en") -> str:
    """"Missed call from +48600100200 on Shop window at 14:05" (the date when not today),
    in `lang` (the box's: i18n.country_language)."""
    with using_language(lang):
        text = _("Missed call from %(caller)s on %(campaign)s at %(time)s", caller=call.caller,
                 campaign=call.campaign, time=_when(call.at, tz, now))
    return sms_text(text, lang)[:SMS_LENGTH]


def batch_texts(calls: list[MissedCall], tz: tzinfo, now: float, lang: str = "en"
                ) -> list[str]:
    """The missed calls of a batch, one line each, in as few SMS of 160 characters as fit."""
    lines = [sms_text(f"{_when(c.at, tz, now)} {c.caller} {c.campaign}", lang)[:SMS_LENGTH - 30]
             for c in calls]
    with using_language(lang):
        header = sms_text(ngettext("%(count)s missed call", "%(count)s missed calls",
                                   len(calls), count=len(calls)), lang)
    room = SMS_LENGTH - len(header) - len(" (99/99):")
    chunks: list[list[str]] = [[]]
    for line in lines:
        if chunks[-1] and len("\n".join(chunks[-1] + [line])) + 1 > room:
            chunks.append([])
        chunks[-1].append(line)
    if len(chunks) == 1:
        return [f"{header}:\n" + "\n".join(chunks[0])]
    return [f"{header} ({i}/{len(chunks)}):\n" + "\n".join(chunk)
            for i, chunk in enumerate(chunks, 1)]


def retry_delay(failures: int, first: float = FIRST_RETRY, most: float = MAX_RETRY) -> float:
    """Seconds to wait after `failures` failures in a row (1, 2, ...): doubling, capped."""
    return min(most, first * 2 ** (max(1, failures) - 1))


def missed_call(record: dict[str, Any]) -> MissedCall | None:
    """The alert of a missed call's record (the tracker's `call.missed`), or None for a
    record that is not one (a call on no campaign never alerts)."""
    try:
        if record["status"] != "missed" or not record["campaign"]:
            return None
        return MissedCall(str(record["caller"]), str(record["campaign"]),
                          float(record["offered_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        logger.error("alerts: not a call record (%s); no SMS for it", exc)
        return None


# -- the queue on disk ----------------------------------------------------------------------
class AlertFile:
    """data/alerts.json: {"missed": [...], "outbox": [...], "pin_rejected": ""}."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> dict[str, Any]:
        empty: dict[str, Any] = {"missed": [], "outbox": [], "pin_rejected": ""}
        try:
            data = json.loads(self.path.read_bytes())
            if not (isinstance(data, dict) and isinstance(data.get("missed"), list)
                    and isinstance(data.get("outbox"), list)):
                raise ValueError("not an alert queue")
            missed = [MissedCall(str(m["caller"]), str(m["campaign"]), float(m["at"]))
                      for m in data["missed"]]
            outbox = [{"to": str(m["to"]), "text": str(m["text"]),
                       "attempts": int(m.get("attempts", 0)),
                       "next_try": float(m.get("next_try", 0))} for m in data["outbox"]]
        except FileNotFoundError:
            return empty
        except (OSError, ValueError, TypeError, KeyError) as exc:
            aside = self.path.with_name(f"{self.path.name}.bad-{int(time.time())}")
            logger.error("alerts: %s unreadable (%s); set aside as %s", self.path, exc,
                         aside.name)
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return empty
        return {"missed": missed, "outbox": outbox,
                "pin_rejected": str(data.get("pin_rejected", ""))}

    def write(self, missed: list[MissedCall], outbox: list[dict[str, Any]],
              pin_rejected: str) -> None:
        data = {"missed": [vars(m) for m in missed], "outbox": outbox,
                "pin_rejected": pin_rejected}
        atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))


def _fingerprint(pin: str) -> str:       # which PIN was refused, without keeping it twice
    return hashlib.sha256(pin.encode()).hexdigest()[:16] if pin else ""


_STOP, _WAKE = object(), object()


class Alerter:
    """Missed-call SMS alerts, from the tracker's missed calls to the modem, on a thread of
    its own."""

    def __init__(self, config: Config, data_dir: Path, *, modem: Modem | None = None,
                 clock: Callable[[], float] = time.time, first_retry: float = FIRST_RETRY,
                 max_retry: float = MAX_RETRY):
        if config.modem is None:
            raise ValueError("the config has no [modem]")
        self._config = config             # the box's country: the SMS language
        self._settings = config.modem
        self._tz = ZoneInfo(config.box.timezone)
        self._modem = modem or Modem(config.modem.device, pin=config.modem.pin)
        self._clock = clock
        self._first_retry, self._max_retry = first_retry, max_retry
        self._file = AlertFile(Path(data_dir) / "alerts.json")
        self._inbox: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()     # guards the lists for readers (`pending`)
        self._missed: list[MissedCall] = []
        self._outbox: list[dict[str, Any]] = []
        self._pin_rejected = ""
        self._failures = 0
        self._modem_retry_at = 0.0

    def start(self) -> None:
        state = self._file.read()
        self._missed, self._outbox = state["missed"], state["outbox"]
        self._pin_rejected = state["pin_rejected"]
        if self._pin_rejected and self._pin_rejected == _fingerprint(self._settings.pin):
            self._modem.pin_rejected = True
        self._thread = threading.Thread(target=self._run, name="sms-alerts", daemon=True)
        self._thread.start()
        logger.info("alerts: SMS to %s through %s%s; %d waiting",
                    ", ".join(self._settings.alert_numbers), self._settings.device,
                    f", every {self._settings.batch_minutes} min"
                    if self._settings.batch_minutes else "", len(self._outbox))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the SMS in hand (unsent alerts stay in alerts.json); idempotent."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._inbox.put(_STOP)
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("alerts: the modem is still busy; leaving it")

    def listen(self, kind: str, data: Any) -> None:
        """The tracker listener (tracker.published.listen): queue a missed call, never block."""
        if kind == CALL_MISSED:
            self._inbox.put(data)

    def wake(self) -> None:
        """Look at the clock again now (batches and retries are due by it)."""
        self._inbox.put(_WAKE)

    def pending(self) -> tuple[int, int]:
        """(missed calls waiting for their batch, SMS not yet sent)."""
        with self._lock:
            return len(self._missed), len(self._outbox)

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                item = self._next_item()
                while item is not None:
                    if item is _STOP:
                        return
                    if item is not _WAKE:
                        self._on_missed(item)
                    try:
                        item = self._inbox.get_nowait()
                    except queue.Empty:
                        item = None
                now = self._clock()
                self._compose(now)
                self._send_due(now)
        finally:
            self._modem.close()

    def _next_item(self) -> Any:
        now = self._clock()
        times = [m["next_try"] for m in self._outbox]
        if self._missed:
            times.append(self._missed[0].at + self._settings.batch_minutes * 60)
        wait = None
        if times:
            wait = min(max(max(min(times), self._modem_retry_at) - now, 0.0), 30.0)
        try:
            return self._inbox.get(timeout=wait) if wait != 0.0 else self._inbox.get_nowait()
        except queue.Empty:
            return None

    def _on_missed(self, record: dict[str, Any]) -> None:
        call = missed_call(record)
        if call is not None:
            logger.info("alerts: missed call from %s on %s", call.caller, call.campaign)
            with self._lock:
                self._missed.append(call)
            self._save()

    def _compose(self, now: float) -> None:
        if not self._missed:
            return
        batch = self._settings.batch_minutes
        if batch and now < self._missed[0].at + batch * 60 and len(self._missed) < MAX_MISSED:
            return
        lang = country_language(self._config.box.country)      # docs/i18n.md
        texts = (batch_texts(self._missed, self._tz, now, lang) if batch
                 else [alert_text(call, self._tz, now, lang) for call in self._missed])
        with self._lock:
            self._outbox += [{"to": number, "text": text, "attempts": 0, "next_try": now}
                             for text in texts for number in self._settings.alert_numbers]
            self._missed = []
            if len(self._outbox) > MAX_OUTBOX:
                dropped = len(self._outbox) - MAX_OUTBOX
                del self._outbox[:dropped]
                logger.error("alerts: %d unsent SMS dropped (more than %d waiting)", dropped,
                             MAX_OUTBOX)
        self._save()

    def _send_due(self, now: float) -> None:
        due = [m for m in self._outbox if m["next_try"] <= now]
        if not due or now < self._modem_retry_at:
            return
        try:
            self._modem.ready()
            for message in due:
                try:
                    self._modem.send_sms(message["to"], message["text"])
                except SmsRefused as exc:       # this SMS's trouble: back off on it alone
                    message["attempts"] += 1
                    message["next_try"] = now + retry_delay(
                        message["attempts"], self._first_retry, self._max_retry)
                    logger.warning("alerts: SMS to %s refused (%s); retry in %.0f s",
                                   message["to"], exc, message["next_try"] - now)
                    self._save()
                    continue
                with self._lock:
                    self._outbox.remove(message)
                self._save()
                logger.info("alerts: SMS sent to %s", message["to"])
        except ModemError as exc:
            self._modem_failed(exc, now)
        else:
            self._failures = 0

    def _modem_failed(self, exc: ModemError, now: float) -> None:
        self._modem.close()
        self._failures += 1
        delay = retry_delay(self._failures, self._first_retry, self._max_retry)
        self._modem_retry_at = now + delay
        logger.warning("alerts: modem %s: %s; %d SMS waiting, retry in %.0f s",
                       self._settings.device, exc, len(self._outbox), delay)
        if self._modem.pin_rejected and not self._pin_rejected:
            self._pin_rejected = _fingerprint(self._settings.pin)
            self._save()

    def _save(self) -> None:
        with self._lock:
            missed, outbox = list(self._missed), [dict(m) for m in self._outbox]
        try:
            self._file.write(missed, outbox, self._pin_rejected)
        except OSError as exc:           # kept in memory; written with the next change
            logger.error("alerts: cannot write %s: %s", self._file.path, exc)
