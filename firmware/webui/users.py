"""Panel users: users.json in the data folder, argon2 hashes, written atomically.

Why state here: the file is shared by two processes (the running box and `callbox passwd`), so
the store re-reads it whenever its stat signature changes and rewrites it whole (temp file,
fsync, rename, fsync the folder) under a lock; a half-written users.json can never be read.
A user's `generation` grows with every password change, so sessions made with an old password
stop working (the session id carries it). A removed user's last generation is kept ("removed"),
so a new user of the same name never inherits the old one's sessions.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from firmware.atomic import atomic_write  # noqa: F401 (settings, prefs, reports use it from here)
from firmware.webui.i18n import N_
from typing import TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

logger = logging.getLogger(__name__)

ROLES = ("owner", "staff")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_EXTENSION = re.compile(r"^[0-9]{2,6}$")
_VERIFIED_FOR = 300.0  # seconds a verified Basic-auth password is remembered (argon2 is slow on a Pi)


class UserError(ValueError):
    """A form value is not acceptable (a user's name or password, a settings field);
    `field` names which, `message` says why and is shown next to it: an English message id
    with `%(name)s` placeholders for `values`, translated where it is shown (`text()`)."""

    def __init__(self, field: str, message: str, **values):
        super().__init__(message % values if values else message)
        self.field = field
        self.message = message
        self.values = values

    def text(self) -> str:
        """The message in the reader's language, its values filled in."""
        from firmware.webui.i18n import gettext

        return gettext(self.message, **self.values)


@dataclass(frozen=True)
class User:
    """A panel user as Flask-Login sees it (always authenticated and active once loaded)."""

    name: str
    role: str
    extension: str | None
    generation: int
    language: str | None = None     # their own choice (en, pl, ru, bg); None: not chosen yet

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.generation}:{self.name}"

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise UserError("user", N_("user names are 1-32 letters, digits, dots, dashes or underscores"))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError("password", N_("the password needs at least %(count)s characters"),
                        count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserError("password", N_("the password may have at most %(count)s characters"),
                        count=MAX_PASSWORD)


class UserStore:
    """The panel's users, kept in `data_dir/users.json` (a path to a .json file works too)."""

    def __init__(self, data_dir: Path, *, hasher: PasswordHasher | None = None,
                 clock=time.monotonic):
        where = Path(data_dir)
        self.path = where if where.suffix == ".json" else where / "users.json"
        self.data_dir = self.path.parent
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._users: dict[str, dict] = {}
        self._removed: dict[str, int] = {}   # name -> generation when removed
        self._verified: dict[bytes, float] = {}
        self._cache_key = secrets.token_bytes(32)
        # A hash to verify against for unknown users, so their sign-in takes as long.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    # -- reading -------------------------------------------------------------------------------

    def _load(self) -> dict[str, dict]:
        """The users as on disk now (re-read only when the file changed). Call under the lock."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._signature, self._users, self._removed = None, {}, {}
            return self._users
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature != self._signature:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                users = data["users"]
                removed = data.get("removed", {})
                if not isinstance(users, dict) or not isinstance(removed, dict):
                    raise TypeError("users")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.error("cannot read %s (%s); keeping the users read before", self.path, exc)
                return self._users
            self._users, self._removed, self._signature = users, removed, signature
            self._verified.clear()
        return self._users

    def _user(self, name: str, record: dict) -> User:
        return User(name, record.get("role", "staff"), record.get("extension"),
                    int(record.get("generation", 1)), record.get("language"))

    def has_users(self) -> bool:
        with self._lock:
            return bool(self._load())

    def get(self, name: str) -> User | None:
        with self._lock:
            record = self._load().get(name)
            return self._user(name, record) if record else None

    def all(self) -> list[User]:
        with self._lock:
            return [self._user(n, r) for n, r in sorted(self._load().items())]

    def load_session_id(self, session_id: str) -> User | None:
        """The user for a Flask-Login id ("generation:name"), None when the password changed."""
        generation, _, name = session_id.partition(":")
        user = self.get(name)
        if user is None or str(user.generation) != generation:
            return None
        return user

    def verify(self, name: str, password: str) -> User | None:
        """The user when `password` is theirs, else None (in about the same time either way)."""
        with self._lock:
            record = self._load().get(name)
            user = self._user(name, record) if record else None
            stored = record.get("hash", self._dummy) if record else self._dummy
        key = hmac.new(self._cache_key, f"{name}\0{password}\0{stored}".encode(),
                       hashlib.sha256).digest()
        now = self._clock()
        if user is not None and self._verified.get(key, 0.0) > now:
            return user
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if len(self._verified) > 64:
            self._verified.clear()
        self._verified[key] = now + _VERIFIED_FOR
        return user

    # -- writing -------------------------------------------------------------------------------

    def set_password(self, name: str, password: str, role: str = "owner",
                     extension: str | None = None, *, only_if_empty: bool = False,
                     language: str | None = None) -> User:
        """Create `name` or change their password, role and extension; raises UserError.

        With only_if_empty, refuses (UserError on "user") when any user exists: first-run setup.
        """
        check_name(name)
        check_password(password)
        if role not in ROLES:
            raise UserError("role", N_("the role is owner or staff"))
        if extension is not None and not _EXTENSION.fullmatch(extension):
            raise UserError("extension", N_("an extension is 2 to 6 digits"))
        if role == "staff" and extension is None:
            raise UserError("extension", N_("a staff user needs an extension (their desk phone)"))
        hashed = self._hasher.hash(password)
        with self._lock:
            users = dict(self._load())
            if only_if_empty and users:
                raise UserError("user", N_("the owner has already been created"))
            if role != "owner" and self._is_last_owner(users, name):
                raise UserError("role", N_("the last owner cannot become staff"))
            removed = dict(self._removed)
            last = removed.pop(name, 0)   # a removed namesake's sessions stay ended
            language = language or users.get(name, {}).get("language")   # kept on a change
            users[name] = {"hash": hashed, "role": role, "extension": extension,
                           "generation": int(users.get(name, {}).get("generation", last)) + 1}
            if language:
                users[name]["language"] = language
            self._save(users, removed)
            return self._user(name, users[name])

    def set_language(self, name: str, language: str | None) -> User | None:
        """Store `name`'s panel language (None: follow the browser and the box again); their
        sessions stay. None: no such user."""
        from firmware.webui.i18n import LANGUAGES

        if language is not None and language not in LANGUAGES:
            raise UserError("language", N_("choose one of the panel's languages"))
        with self._lock:
            users = dict(self._load())
            if name not in users:
                return None
            record = {k: v for k, v in users[name].items() if k != "language"}
            if language:
                record["language"] = language
            users[name] = record
            self._save(users, self._removed)
            return self._user(name, record)

    def change_password(self, name: str, password: str) -> User | None:
        """Change an existing user's password (role and extension kept); None: no such user."""
        check_password(password)
        hashed = self._hasher.hash(password)
        with self._lock:
            users = dict(self._load())
            if name not in users:
                return None
            record = users[name]
            users[name] = dict(record, hash=hashed,
                               generation=int(record.get("generation", 1)) + 1)
            self._save(users, self._removed)
            return self._user(name, users[name])

    def delete(self, name: str) -> User | None:
        """Remove `name` (their sessions end); None: no such user. UserError for the last owner."""
        with self._lock:
            users = dict(self._load())
            if name not in users:
                return None
            if self._is_last_owner(users, name):
                raise UserError("user", N_("the last owner cannot be removed"))
            record = users.pop(name)
            removed = dict(self._removed)
            removed[name] = int(record.get("generation", 1))
            self._save(users, removed)
            return self._user(name, record)

    @staticmethod
    def _is_last_owner(users: dict[str, dict], name: str) -> bool:
        owners = [n for n, r in users.items() if r.get("role", "staff") == "owner"]
        return owners == [name]

    def _save(self, users: dict[str, dict], removed: dict[str, int]) -> None:
        data = json.dumps({"version": 1, "users": users, "removed": removed}, indent=2,
                          sort_keys=True) + "\n"
        atomic_write(self.path, data.encode("utf-8"))
        self._signature = None  # re-read and re-stat on next access
        self._users, self._removed = users, removed
        self._verified.clear()


def _read_password(stdin: TextIO) -> str:
    """One line, or the same line twice; a tty is asked twice without echo."""
    if stdin.isatty():
        first = getpass.getpass("New password: ")
        second = getpass.getpass("Again: ")
    else:
        lines = stdin.read().splitlines()
        first = lines[0] if lines else ""
        second = lines[1] if len(lines) > 1 else first
    if first != second:
        raise UserError("password", "the two passwords differ")
    if not first:
        raise UserError("password", "no password given")
    return first


def passwd_command(data_dir: Path, user: str, role: str, extension: str | None,
                   stdin: TextIO) -> int:
    """`callbox passwd USER`: set a panel user's password (creating the user). Exit code 0/1."""
    try:
        check_name(user)
        password = _read_password(stdin)
        saved = UserStore(Path(data_dir)).set_password(user, password, role, extension)
    except UserError as exc:
        print(f"callbox passwd: {exc.field}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"callbox passwd: cannot write {Path(data_dir) / 'users.json'}: {exc.strerror}",
              file=sys.stderr)
        return 1
    where = f", extension {saved.extension}" if saved.extension else ""
    print(f"password set for {saved.name} ({saved.role}{where})")
    return 0
