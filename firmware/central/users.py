"""The central's users, in PostgreSQL: owners see every site, a manager sees one.

Same rules as the box's users.json (firmware/webui/users.py): argon2 hashes, a `generation`
that grows with each password change so old sessions stop working, a dummy hash checked for
unknown names so a wrong name takes as long as a wrong password. The interface is the one the
box's sign-in code (access.py, auth.py) calls, so the central reuses it unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from firmware.central.db import Database
from firmware.webui.users import (_VERIFIED_FOR, UserError, _read_password, check_name,
                                  check_password)

logger = logging.getLogger(__name__)

ROLES = ("owner", "manager")


@dataclass(frozen=True)
class CentralUser:
    name: str
    role: str
    site: str | None
    generation: int
    extension = None            # the box's templates ask; central users have no desk phone

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.generation}:{self.name}"

    @property
    def is_owner(self) -> bool:
        """Owners see all sites; the box's panel code reads this for "sees everything"."""
        return True

    @property
    def all_sites(self) -> bool:
        return self.role == "owner"


class CentralUserStore:
    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None,
                 clock=time.monotonic):
        self.db = db
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash("not-a-password-of-anyone")
        self._clock = clock
        self._verified: dict[bytes, float] = {}     # as the box's UserStore: API scripts
        self._cache_key = secrets.token_bytes(32)   # sign in on every request

    def has_users(self) -> bool:
        with self.db.connection() as conn:
            return conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]

    def get(self, name: str) -> CentralUser | None:
        row = self._row(name)
        return CentralUser(row[0], row[1], row[2], row[3]) if row else None

    def _row(self, name: str):
        with self.db.connection() as conn:
            return conn.execute("SELECT name, role, site, generation, hash FROM users "
                                "WHERE name = %s", (name,)).fetchone()

    def load_session_id(self, session_id: str) -> CentralUser | None:
        generation, _, name = session_id.partition(":")
        user = self.get(name) if len(name) <= 32 else None
        if user is None or str(user.generation) != generation:
            return None
        return user

    def verify(self, name: str, password: str) -> CentralUser | None:
        """The user when `password` is theirs (a verified password is remembered for
        _VERIFIED_FOR seconds, keyed with the stored hash, so a change ends it at once)."""
        row = self._row(name) if len(name) <= 32 else None
        stored = row[4] if row else self._dummy
        key = hmac.new(self._cache_key, f"{name}\0{password}\0{stored}".encode(),
                       hashlib.sha256).digest()
        now = self._clock()
        if row is not None and self._verified.get(key, 0.0) > now:
            return CentralUser(row[0], row[1], row[2], row[3])
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if len(self._verified) > 64:
            self._verified.clear()
        self._verified[key] = now + _VERIFIED_FOR
        return CentralUser(row[0], row[1], row[2], row[3])

    def set_password(self, name: str, password: str, role: str = "owner",
                     site: str | None = None, *, only_if_empty: bool = False) -> CentralUser:
        """Create `name` or change their password, role and site; raises UserError."""
        check_name(name)
        check_password(password)
        if role not in ROLES:
            raise UserError("role", f"must be one of {', '.join(ROLES)}")
        if role == "manager" and not site:
            raise UserError("site", "a manager needs --site NAME")
        site = site if role == "manager" else None
        with self.db.connection() as conn:
            if only_if_empty and conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]:
                raise UserError("user", "an owner exists already")
            row = conn.execute(
                "INSERT INTO users (name, hash, role, site) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, role = EXCLUDED.role, "
                "site = EXCLUDED.site, generation = users.generation + 1 "
                "RETURNING name, role, site, generation",
                (name, self._hasher.hash(password), role, site)).fetchone()
        return CentralUser(*row)


def passwd_command(store: CentralUserStore, user: str, role: str, site: str | None,
                   known_sites: list[str], stdin: TextIO) -> int:
    """`callbox central passwd USER`: exit code 0/1."""
    try:
        if site is not None and site not in known_sites:
            raise UserError("site", f"no [[site]] named {site!r} in central.toml "
                                    f"(known: {', '.join(known_sites) or 'none'})")
        password = _read_password(stdin)
        saved = store.set_password(user, password, role, site)
    except UserError as exc:
        print(f"callbox central passwd: {exc.field}: {exc.message}", file=sys.stderr)
        return 1
    where = f", site {saved.site}" if saved.site else ", all sites"
    print(f"password set for {saved.name} ({saved.role}{where})")
    return 0
