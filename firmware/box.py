"""`callbox run`: the whole box in one process.

One asyncio loop owns SIP and RTP; the tracker has its own writer thread; waitress serves
the panel from its threads. SIGTERM/SIGINT stop everything in the reverse order, saving
the phones' bindings and flushing the tracker, so nothing is lost on a clean stop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware.atomic import atomic_write
from firmware.config import Config
from firmware.hw.systemd import Notifier
from firmware.pbx.b2bua import B2BUA
from firmware.pbx.callio import MediaStopped
from firmware.pbx.presence import PresenceFile
from firmware.pbx.switchboard import Switchboard
from firmware.pbx.bindings import BindingFile
from firmware.pbx.defence import BanFile, Defence
from firmware.pbx.endpoint import SipEndpoint
from firmware.pbx.events import EventBus
from firmware.pbx.registrar import Registrar
from firmware.pbx.sip.digest import DigestServer
from firmware.pbx.sip.message import new_tag
from firmware.pbx.media import MediaRelay
from firmware.pbx.transport import SipTransport
from firmware.pbx.trunk import TrunkClient, TrunkRegistration
from firmware.pbx.dnsclient import DnsClient
from firmware.pbx.trunknet import TrunkNetwork

logger = logging.getLogger("callbox")

REALM = "callbox"
SAVE_INTERVAL = 1.0   # seconds between saves of changed phone bindings
MEDIA_WATCH_INTERVAL = 1.0   # seconds between looks for calls whose audio stopped
MAX_LISTED_BANS = 100   # bans shown in /healthz (all are kept in data/bans.json)


def read_secret(path: Path, size: int = 32) -> bytes:
    """A random secret kept in the data folder (created once, mode 0600)."""
    try:
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(size)
    atomic_write(path, data)
    return data


class Box:
    """The running parts, built from one Config and one data folder."""

    def __init__(self, config: Config, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.bus = EventBus()
        self.binding_file = BindingFile(data_dir / "bindings.json")
        self.bindings = self.binding_file.read(time.time())
        # MD5 only: SIPp answers the first challenge only, and baresip/libre fail the whole
        # REGISTER (ENOSYS) on seeing any SHA-256 challenge, as do many desk phones. The
        # digest code does SHA-256 (tested) for when phones catch up; RFC 8760 lets us choose.
        self.digest = DigestServer(REALM, read_secret(data_dir / "sip_secret"),
                                   algorithms=("MD5",))
        # Where the trunks are (RFC 3263): IP literals now, names once looked up (run()).
        self.trunk_network = TrunkNetwork(config.trunks, DnsClient.from_system(
            config.dns.servers, timeout=config.dns.timeout_seconds))
        trunk_hosts = self.trunk_network.trunk_hosts     # one dict, updated in place
        # Per-address defences: the gate drops banned and flooding sources before parsing.
        self.defence = Defence(config.security, trusted_hosts=trunk_hosts)
        self.ban_file = BanFile(data_dir / "bans.json")
        self.ban_file.read(self.defence, time.time())
        self.trunk_network.on_change = self.defence.trust_hosts
        self.registrar = Registrar(self.digest, self._password_for, self.bindings, new_tag,
                                   on_auth_failure=self.defence.on_auth_failure,
                                   on_auth_success=self.defence.on_auth_success)
        host = config.sip.listen_host
        if host == "0.0.0.0":
            host = _primary_address()
        self.sip_host = host
        self.media = MediaRelay(config.sip.listen_host, config.sip.rtp_port_min,
                                config.sip.rtp_port_max)
        self.night = None       # NightSwitch (start_hw): inbound routing asks _night_on
        self.presence_file = PresenceFile(data_dir / "presence.json")
        self.presence = self.presence_file.read()
        self.calls = B2BUA(config, self.bindings, self.digest, host=host,
                           port=config.sip.listen_port, trunk_hosts=trunk_hosts,
                           night=self._night_on, on_auth_failure=self.defence.on_auth_failure,
                           on_auth_success=self.defence.on_auth_success,
                           presence=self.presence, contact_name=self._contact_name,
                           trunk_route=self.trunk_network.next_hop,
                           trunk_failover=self.trunk_network.report_failure)
        self.transport = SipTransport(config.sip.listen_host, config.sip.listen_port,
                                      self._receive, banned=self._banned)
        self.transport.may_connect = lambda dest: dest.host in trunk_hosts
        self.endpoint = SipEndpoint(self.transport.send, self.registrar, calls=self.calls,
                                    media=self.media, publish=self.bus.publish,
                                    gate=self.defence, arm_timer=self._arm_timer,
                                    protected=self._protected_host)
        self.tracker = None
        self.trunk_states: dict[str, str] = {}
        self.trunk_client = TrunkClient(self.endpoint, {}, self._trunk_state, self.trunk_network,
                                        transport=self.transport)
        self._set_trunks(config)
        self.web = None
        self.alerter = None     # SMS alerts (firmware/hw/modem.py), when [modem] is set
        self._timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None   # set once the box is serving
        self._timer_at: float | None = None
        self.integrations = None   # webhooks, GA4, e-mail (firmware/integrations)
        self.indicators = None     # the LEDs, listening to the tracker (firmware/hw/indicators.py)
        self.start_audio()

    def start_audio(self) -> None:
        """The audio desk: prompts, voicemail, *97/*98 (pbx/audiodesk.py, docs/voicemail.md)."""
        from firmware.pbx.audiodesk import AudioDesk

        self.audio_desk = AudioDesk.for_box(self.config, self.data_dir)
        self.audio_desk.feed = self.endpoint.feed
        self.audio_desk.rings_for = lambda ext: {c.name for c in self.config.campaigns
                                                 if ext in c.ring}
        self.audio_desk.waiting = self._waiting_numbers
        self.endpoint.audio = self.audio_desk

    def _waiting_numbers(self) -> set[str] | None:
        """The numbers still to call back (*97 plays only their messages)."""
        if self.tracker is None:
            return None
        return {entry["number"] for entry in self.tracker.callbacks()}
        self.recordings = None     # call recordings (firmware/recording), start_recording()

    def _contact_name(self, number: str) -> str | None:
        """A known caller's name for the desk phone's display (the tracker's contacts)."""
        lookup = getattr(self.tracker, "contact_name", None)
        return lookup(number) if lookup is not None else None

    def _night_on(self) -> bool:
        return self.night is not None and self.night.on

    def _arm_timer(self, deadline: float) -> None:
        """Run the endpoint's timers (transactions' and calls', on the monotonic clock) at
        `deadline`; one event-loop timer, always the earliest deadline."""
        if self._timer_at is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = asyncio.get_running_loop().call_later(
            max(0.0, deadline - time.monotonic()), self._fire_timer)

    def _fire_timer(self) -> None:
        self._timer = self._timer_at = None
        self.endpoint.tick()

    def _set_trunks(self, config: Config) -> None:
        """Use `config`'s trunks: where they are (looked up anew when changed) and a
        registration for each trunk that registers. An unchanged trunk keeps its
        registration and state."""
        self.trunk_network.set_trunks(config.trunks)
        self.defence.trust_hosts(self.trunk_network.trunk_hosts)
        contact_host = config.sip.public_address or self.sip_host
        before = self.trunk_client.registrations
        registrations: dict[str, TrunkRegistration] = {}
        states: dict[str, str] = {}
        for trunk in config.trunks:
            if not trunk.register:
                states[trunk.name] = "ip-auth"
                continue
            kept = before.get(trunk.name)
            if kept is not None and kept.trunk == trunk:
                registrations[trunk.name] = kept
                states[trunk.name] = self.trunk_states.get(trunk.name, "unregistered")
            else:
                registrations[trunk.name] = TrunkRegistration(trunk, contact_host,
                                                              config.sip.listen_port)
                states[trunk.name] = "unregistered"
        if before:
            logger.info("trunks: %s", ", ".join(
                f"{name} {'kept' if registrations.get(name) is before.get(name) else 'new'}"
                for name in registrations) or "none register")
        self.trunk_client.registrations = registrations
        self.trunk_states = states
        if self.tracker is not None:
            for name, state in states.items():
                self.tracker.set_trunk_state(name, state in ("registered", "ip-auth"))

    def _trunk_state(self, name: str, state: str) -> None:
        if self.trunk_states.get(name) != state:
            self.trunk_states[name] = state
            if self.tracker is not None and hasattr(self.tracker, "set_trunk_state"):
                self.tracker.set_trunk_state(name, state == "registered")

    def _password_for(self, username: str) -> str | None:
        extension = self.config.extension(username)
        return extension.password if extension else None

    def _banned(self, host: str) -> bool:
        """No TCP connection for a banned host (the transport asks at accept)."""
        return self.defence.is_banned(host, time.time())

    def _protected_host(self, host: str) -> bool:
        """A trunk, a trusted address or a registered phone: kept when the transaction table
        sheds load (asked only when it is full)."""
        if self.defence.is_trusted(host):
            return True
        return self.bindings.reached_from(host, time.time())

    def _receive(self, data, source) -> None:
        self.endpoint.on_datagram(data, source)

    def health(self) -> dict:
        storage = "ok"
        if self.tracker is not None:
            storage = self.tracker.storage_status()
        zone = ZoneInfo(self.config.box.timezone)
        bans = [{"address": ban.address, "reason": ban.reason,
                 "until": datetime.fromtimestamp(ban.until, zone).isoformat(timespec="seconds")}
                for ban in self.defence.bans(time.time())[:MAX_LISTED_BANS]]
        health = {"sip": "ok", "trunks": dict(self.trunk_states), "storage": storage,
                  "bans": bans, "trunk_routes": self.trunk_network.describe()}
        # counts of all bans in force (the list above stops at MAX_LISTED_BANS); strangers
        # see only these (webui/api.py public_health)
        in_force = self.defence.bans(time.time())
        health["ban_count"] = len(in_force)
        health["bans_by_reason"] = {reason: sum(1 for b in in_force if b.reason == reason)
                                    for reason in sorted({b.reason for b in in_force})}
        if self.recordings is not None:
            health["recording"] = self.recordings.health()
        return health

    def create_tracker(self) -> None:
        """The tracker, subscribed to the bus; its history is loaded later (`start`), while
        SIP already answers: events of calls in the meantime wait in its queue, in order."""
        from firmware.tracker.service import Tracker

        self.tracker = Tracker(self.config, self.data_dir)
        self.bus.subscribe(self.tracker.submit)
        self.tracker.published.listen(self._tell_message_lamps)
        self.start_uplink()

    def _tell_message_lamps(self, kind: str, data) -> None:
        """The tracker's "waiting.changed" (its writer thread) to call control on the event
        loop that owns it: the desk phones' message lamps follow the callback LED (pbx/mwi.py)."""
        from firmware.pbx.mwi import MessagesWaiting
        from firmware.tracker.publish import WAITING_CHANGED

        if kind != WAITING_CHANGED:
            return
        event = MessagesWaiting(int(data["waiting"]), int(data["callbacks"]))
        if self.loop is None:      # not serving yet: nobody subscribed, only keep the state
            self.calls.receive(event, time.monotonic(), time.time())
            return
        try:
            self.loop.call_soon_threadsafe(self.endpoint.feed, event)
        except RuntimeError:       # the loop is closed: the box is stopping
            pass

    def start_uplink(self) -> None:
        """[central]: report what the tracker publishes to the central panel (firmware/uplink)."""
        from firmware.uplink.sender import start_uplink

        self.uplink = start_uplink(self.config, self.data_dir, self.tracker)

    def start_web(self) -> None:
        from firmware.webui.app import create_app, load_or_create_secret, serve
        from firmware.webui.users import UserStore

        if self.integrations is not None:     # the history is loaded: summaries are whole
            self.integrations.start_mail(self.tracker)
        users = UserStore(self.data_dir / "users.json")
        editable = None if self.config.source == "<embedded default>" else Path(self.config.source)
        app = create_app(self.config, self.tracker, users, health=self.health,
                         secret_key=load_or_create_secret(self.data_dir),
                         config_path=editable, on_config=self.apply_config,
                         switchboard=Switchboard(self),
                         integrations=self.integrations,
                         recordings=self.recordings)
        from firmware.webui import voicemail as voicemail_web

        voicemail_web.install(app, self.audio_desk.store, self.audio_desk.library)
        self.web = serve(app, self.config.web.listen_host, self.config.web.listen_port)
        threading.Thread(target=self.web.run, name="web", daemon=True).start()
        logger.info("web: panel on http://%s:%d/", self.config.web.listen_host,
                    self.config.web.listen_port)

    def apply_config(self, config: Config) -> None:
        """A config saved from the panel (a web thread): used by the call path from the next
        call on, without dropping the calls in progress. Trunks are taken up at once (a
        changed trunk registers anew; calls from its address are recognised). Listening
        addresses and RTP ports are set up at start only: changing them asks for a restart."""
        old = self.config
        restart = [key for key, before, after in (
            ("sip", old.sip, config.sip), ("web", old.web, config.web)) if before != after]
        trunks_changed = old.trunks != config.trunks
        if self.tracker is not None:
            self.tracker.reload_config(config)
        if self.indicators is not None:
            self.indicators.reconfigure(config.hw)
        if self.integrations is not None:
            self.integrations.reload_config(config)
        if getattr(self, "uplink", None) is not None:    # the central hears the campaign set
            self.uplink.report_config(config)
        if self.recordings is not None:
            self.recordings.reload_config(config)

        def swap() -> None:
            self.config = config
            self.calls.config = config
            self.defence.reconfigure(config.security)
            if trunks_changed:
                self._set_trunks(config)
            logger.info("config: reloaded from %s", config.source)
            if restart:
                logger.warning("config: %s changed; restart the box to apply it",
                               ", ".join(restart))

        if self.loop is not None:
            self.loop.call_soon_threadsafe(swap)
        else:
            swap()

    def start_hw(self) -> None:
        """The night-mode button and LED; the callback and status LEDs and SMS alerts for
        missed calls (when [modem] is set), which listen to what the tracker publishes."""
        from gpiozero import GPIOZeroError

        from firmware.hw.indicators import Indicators
        from firmware.hw.leds import default_pin_factory
        from firmware.hw.night import NightSwitch

        self.indicators = Indicators(self.config.hw)
        self.tracker.published.listen(self.indicators.listen)

        hw, state = self.config.hw, self.data_dir / "night"
        fitted = hw.night_button is not None or hw.night_led is not None
        try:
            self.night = NightSwitch(hw.night_button, hw.night_led, state_file=state,
                                     pin_factory=default_pin_factory() if fitted else None)
        except GPIOZeroError as exc:
            logger.error("night mode: GPIO unusable, button and LED ignored: %s", exc)
            self.night = NightSwitch(None, None, state_file=state)
        if self.config.modem is not None:
            from firmware.hw.modem import Alerter

            self.alerter = Alerter(self.config, self.data_dir)
            self.alerter.start()
            self.tracker.published.listen(self.alerter.listen)

    def start_integrations(self) -> None:
        """Webhooks, GA4 and the e-mail summary: they listen to the tracker, whose changes
        reach their outbox once durable; a sender thread delivers them."""
        from firmware.integrations.service import Integrations

        self.integrations = Integrations(self.config, self.data_dir)
        self.integrations.open()
        self.tracker.subscribe(self.integrations.listen)
        self.integrations.start()

    def start_recording(self) -> None:
        """Call recordings: they listen to the call events and tap the relay's session of a
        call to record; the tracker's records are linked to them (firmware/recording)."""
        from firmware.recording.service import Recordings

        self.recordings = Recordings(self.config, self.data_dir, self.media.sessions.get)
        self.bus.subscribe(self.recordings.recorder.on_event)
        self.tracker.published.listen(self.recordings.on_tracker)
        self.tracker.call_extras.append(self.recordings.decorate)
        audio_desk = getattr(self, "audio_desk", None)
        if audio_desk is not None:          # keep_days bounds voicemail messages too
            self.recordings.retention.also.append(audio_desk.store.prune)
        self.recordings.start()

    async def save_bindings_forever(self) -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL)
            self.save_bindings()
            self.save_bans()
            self.save_presence()

    async def watch_media_forever(self) -> None:
        """The dead-call sweep: an answered call whose audio stopped (a BYE lost on the
        way) is reported to call control, which hangs up both sides and frees the ports."""
        while True:
            await asyncio.sleep(MEDIA_WATCH_INTERVAL)
            for session in self.media.idle_sessions():
                self.endpoint.feed(MediaStopped(session.call_key))

    def save_bindings(self) -> None:
        if self.bindings.changed:
            try:
                self.binding_file.write(self.bindings)
            except OSError as exc:
                logger.error("bindings: cannot save (%s)", exc)

    def save_presence(self) -> None:
        if self.presence.changed:
            try:
                self.presence_file.write(self.presence)
            except OSError as exc:
                logger.error("presence: cannot save do-not-disturb (%s)", exc)

    def save_bans(self) -> None:
        now = time.time()
        self.defence.expire(now)
        if self.defence.changed:
            try:
                self.ban_file.write(self.defence, now)
            except OSError as exc:
                logger.error("defence: cannot save the bans (%s)", exc)

    def stop(self) -> None:
        self.save_bindings()
        self.save_bans()
        self.save_presence()
        if self.web is not None:
            self.web.close()
        if self.tracker is not None:
            self.tracker.stop()
        if self.indicators is not None:
            self.indicators.close()
        if self.integrations is not None:
            self.integrations.stop()
        if getattr(self, "uplink", None) is not None:
            self.uplink.stop()
        if self.alerter is not None:
            self.alerter.stop()
        if self.night is not None:
            self.night.close()
        if getattr(self, "recordings", None) is not None:   # a Box built in parts (tests)
            self.recordings.stop()


async def _serve(box: Box) -> int:
    loop = box.loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await box.transport.start()
    except OSError as exc:
        logger.error("sip: cannot listen on %s:%d: %s", box.transport.host, box.transport.port,
                     exc.strerror)
        return 1
    # Phones can register while the call history loads (seconds on a Pi with a big history).
    from firmware.tracker.errors import TrackerError

    try:
        await loop.run_in_executor(None, box.tracker.start)
    except (TrackerError, OSError) as exc:
        logger.error("tracker: cannot open the call store in %s: %s", box.data_dir, exc)
        await box.transport.close()
        return 1
    # What is loaded now (the call history, the imported modules) lives as long as the box:
    # take it out of the cycle collector's scans, which otherwise walk all of it again and
    # again while a report builds its rows (a third of a year's /api/calls went to them).
    gc.collect()
    gc.freeze()
    box.start_web()
    notifier = Notifier.from_environment()   # systemd Type=notify; does nothing elsewhere
    tasks = [asyncio.create_task(box.save_bindings_forever()),
             asyncio.create_task(box.watch_media_forever()),
             asyncio.create_task(box.trunk_client.run()),
             asyncio.create_task(box.trunk_network.run()),
             asyncio.create_task(notifier.watchdog_forever())]
    logger.info("callbox: ready")
    notifier.ready()
    await stopping.wait()
    logger.info("callbox: stopping")
    notifier.stopping()
    for task in tasks:
        task.cancel()
    await box.transport.close()
    await box.media.close()
    return 0


def _primary_address() -> str:
    """The address other hosts reach this box on (for Via, Contact and SDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))   # TEST-NET: no packet is sent by connect()
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def run_box(config: Config, data_dir: Path) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    logger.info("callbox: config %s, data %s", config.source, data_dir)
    if config.source == "<embedded default>":
        logger.info("callbox: no callbox.toml found: running on the embedded default config "
                    "(demo extensions 101/102, SIP on %s:%d)", config.sip.listen_host,
                    config.sip.listen_port)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.error("callbox: cannot create data folder %s: %s", data_dir, exc.strerror)
        return 1
    box = Box(config, data_dir)
    try:
        box.create_tracker()
        box.start_integrations()
        box.start_hw()
        box.start_recording()
        return asyncio.run(_serve(box))
    except OSError as exc:
        logger.error("callbox: cannot start: %s", exc)
        return 1
    finally:
        box.stop()
        logger.info("callbox: stopped")
