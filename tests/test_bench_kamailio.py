"""The Kamailio reference of `make bench` (benchmarks/kamailio_ref.py): its config is filled
in completely and Kamailio itself accepts it; the CPU of a process tree is read from /proc.

Nothing here relays a call or is timed: `make bench` does that.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from benchmarks import kamailio_ref


def test_config_is_filled_in():
    text = kamailio_ref.kamailio_config(25000, 25004)
    assert "@@" not in text
    assert "listen=udp:127.0.0.1:25000" in text
    assert '$du = "sip:127.0.0.11:25004";' in text
    assert "children=1" in text
    for needed in ("record_route()", "loose_route()", "t_relay()"):
        assert needed in text


def test_kamailio_accepts_the_config(tmp_path):
    binary = kamailio_ref.kamailio_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kamailio is not installed (make apt-test)")
        pytest.skip("kamailio is not installed (make apt-test)")
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(kamailio_ref.kamailio_config(25000, 25004))
    check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_tree_cpu_counts_the_process_and_finds_its_children():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in kamailio_ref.children_of(os.getpid())
        assert kamailio_ref.tree_cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
    assert child.pid not in kamailio_ref.children_of(os.getpid())
