"""Issue 14.18: which Host headers name the box (firmware/webui/host_check.py)."""

import pytest

from firmware.webui.host_check import box_names, is_box_host, split_host

NAMES = ["callbox", "callbox.local", "localhost"]


@pytest.mark.parametrize("header, host", [
    ("192.168.1.20:8080", "192.168.1.20"), ("192.168.1.20", "192.168.1.20"),
    ("[fe80::1]:8080", "fe80::1"), ("[::1]", "::1"), ("callbox.local:80", "callbox.local"),
    ("", None), ("a:b:c", None), ("x@y", None), ("192.168.1.20:abc", None),
    ("[::1]x", None), ("fe80::1", None), ("evil/x", None),
])
def test_split_host(header, host):
    assert split_host(header) == host


@pytest.mark.parametrize("header, ok", [
    ("192.168.1.20:8080", True), ("10.0.0.5", True), ("[2001:db8::5]:8080", True),
    ("callbox.local", True), ("CallBox.Local.", True), ("localhost:8080", True),
    ("callbox", True), ("attacker.example", False), ("callbox.attacker.example", False),
    ("192.168.1.20.nip.io", False), (None, False), ("", False),
])
def test_is_box_host(header, ok):
    assert is_box_host(header, NAMES) is ok


def test_the_box_answers_to_its_own_host_name():
    assert "localhost" in box_names()
    assert all(is_box_host(name) for name in box_names())
