"""What makes a desk phone's SIP password too weak to accept (issue 14.5).

Why: a phone's digest password is a toll-fraud key. Scanners on the internet try empty
passwords, the extension number and short dictionary words first (svcrack's defaults), so
check-config and the settings form refuse those before a box goes on line. Pure.
"""

from __future__ import annotations

MIN_LENGTH = 8
MIN_CLASSES = 2         # of: lower-case letters, upper-case letters, digits, anything else

# Passwords that meet the length and the classes but lead every cracking list.
COMMON = frozenset({
    "password1", "passw0rd", "p@ssw0rd", "p@ssword", "password123", "qwerty123", "qwerty12",
    "abc12345", "abcd1234", "1234abcd", "12345678a", "a12345678", "1q2w3e4r", "1qaz2wsx",
    "zaq12wsx", "iloveyou1", "welcome1", "letmein1", "changeme1", "admin123", "admin1234",
    "asterisk1", "freepbx1", "voip1234", "sip12345", "phone123",
})


def character_classes(password: str) -> int:
    """How many of lower-case, upper-case, digits and other characters `password` uses."""
    return sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() for c in password)))


def sip_password_problem(password: str, user: str = "") -> str | None:
    """Why `password` is too weak for SIP user `user` (a config problem's words), or None."""
    if not password:
        return "must not be empty"
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in password):
        return "must not hold control characters"
    lowered = password.lower()
    if user and not lowered.replace(user.lower(), "").strip("-_.!@#* "):
        return "must not be built from the extension number"
    if len(set(lowered)) < 4 or lowered in COMMON:
        return "is a well-known password; choose another"
    if character_classes(password) < MIN_CLASSES:
        return "must mix letters with digits or symbols"
    return None
