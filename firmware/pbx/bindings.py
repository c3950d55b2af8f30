"""Where each extension's desk phones can be reached: its registered contacts.

State lives in memory; `dump()`/`load()` turn it into JSON so the box can keep bindings
across a restart (a phone re-registers only every hour or so, and until then the box must
still ring it). Saving is the owner's job (see BindingFile): a refresh changes only the
expiry, so the file is rewritten at most once a second, not once per REGISTER.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from firmware.atomic import atomic_write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Binding:
    """One registered contact of an extension."""

    contact: str          # the Contact URI as the phone sent it
    expires_at: float
    source_host: str      # where the REGISTER really came from (NAT: differs from contact)
    source_port: int
    transport: str        # "UDP" / "TCP"
    call_id: str
    cseq: int
    user_agent: str = ""

    def expires_in(self, now: float) -> int:
        return max(0, int(round(self.expires_at - now)))


class Bindings:
    """Contacts by extension, newest last; expired ones are dropped as they are read."""

    def __init__(self) -> None:
        self._by_extension: dict[str, list[Binding]] = {}
        # source host -> extensions holding a binding from there (expired ones too, until read)
        self._by_host: dict[str, set[str]] = {}
        self.changed = False   # set on any change; the owner saves and clears it

    def contacts(self, extension: str, now: float) -> list[Binding]:
        current = [b for b in self._by_extension.get(extension, ()) if b.expires_at > now]
        if len(current) != len(self._by_extension.get(extension, ())):
            self._set(extension, current)
        return current

    def reached_from(self, host: str, now: float) -> bool:
        """Whether a live binding came from `host`: a registered phone's address (the
        transaction table keeps their transactions when it sheds load). Asked per request at
        the table's cap, so it looks only at the extensions registered from there."""
        for extension in self._by_host.get(host, ()):
            for binding in self._by_extension.get(extension, ()):
                if binding.source_host == host and binding.expires_at > now:
                    return True
        return False

    def find(self, extension: str, contact: str) -> Binding | None:
        return next((b for b in self._by_extension.get(extension, ()) if b.contact == contact),
                    None)

    def put(self, extension: str, binding: Binding) -> None:
        others = [b for b in self._by_extension.get(extension, ()) if b.contact != binding.contact]
        self._set(extension, others + [binding])

    def remove(self, extension: str, contact: str | None = None) -> None:
        """Remove one contact, or every contact of the extension when contact is None."""
        kept = [] if contact is None else [
            b for b in self._by_extension.get(extension, ()) if b.contact != contact]
        self._set(extension, kept)

    def _set(self, extension: str, bindings: list[Binding]) -> None:
        old_hosts = {b.source_host for b in self._by_extension.get(extension, ())}
        if bindings:
            self._by_extension[extension] = bindings
        else:
            self._by_extension.pop(extension, None)
        new_hosts = {b.source_host for b in bindings}
        for host in old_hosts - new_hosts:
            extensions = self._by_host[host]
            extensions.discard(extension)
            if not extensions:
                del self._by_host[host]
        for host in new_hosts - old_hosts:
            self._by_host.setdefault(host, set()).add(extension)
        self.changed = True

    def extensions(self) -> list[str]:
        return sorted(self._by_extension)

    def dump(self) -> dict:
        return {ext: [asdict(b) for b in bindings] for ext, bindings in self._by_extension.items()}

    @classmethod
    def load(cls, data: dict, now: float) -> "Bindings":
        bindings = cls()
        for extension, items in data.items():
            for item in items:
                binding = Binding(**item)
                if binding.expires_at > now:
                    bindings._by_extension.setdefault(str(extension), []).append(binding)
                    bindings._by_host.setdefault(binding.source_host, set()).add(str(extension))
        return bindings


class BindingFile:
    """bindings.json in the data folder, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, now: float) -> Bindings:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            bindings = Bindings.load(data, now)
        except FileNotFoundError:
            return Bindings()
        except (ValueError, TypeError, AttributeError) as exc:
            aside = self.path.with_suffix(".corrupt")
            logger.error("bindings: %s is unreadable (%s); moved to %s, phones will re-register",
                         self.path, exc, aside.name)
            os.replace(self.path, aside)
            return Bindings()
        logger.info("bindings: restored %d extension(s) from %s", len(bindings.extensions()),
                    self.path)
        return bindings

    def write(self, bindings: Bindings) -> None:
        atomic_write(self.path, json.dumps(bindings.dump(), separators=(",", ":")).encode())
        bindings.changed = False
