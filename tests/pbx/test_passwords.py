"""Issue 14.5: weak desk-phone SIP passwords are refused (firmware/pbx/passwords.py)."""

import pytest

from firmware.pbx.passwords import character_classes, sip_password_problem


@pytest.mark.parametrize("password", ["", "short1!", "12345678", "abcdefghij", "ABCDEFGHIJ",
                                      "password1", "Passw0rd", "101101101", "101-101!",
                                      "aaaa1111", "secret\n101"])
def test_weak_passwords_are_refused(password):
    assert sip_password_problem(password, "101") is not None


@pytest.mark.parametrize("password", ["secret-101-pw", "secret-101", "long-enough",
                                      "Kx7mQ2vp", "demo-101-change-me", "correct horse 9"])
def test_reasonable_passwords_pass(password):
    assert sip_password_problem(password, "101") is None


def test_character_classes():
    assert [character_classes(p) for p in ("abc", "aB", "a1", "aB1-")] == [1, 2, 2, 4]
