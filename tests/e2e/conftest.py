"""Fixtures of the end-to-end rig: a running box with a test config, on its own ports."""

from __future__ import annotations

import pytest

from tests import peers
from tests.e2e.rig import BoxProcess, box_config, free_port_block

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def box_ports():
    base = free_port_block()
    return {"sip": base, "web": base + 1, "phone": base + 2, "trunk": base + 3,
            "rtp": 30000 + (base % 100) * 200}


@pytest.fixture(scope="module")
def box(tmp_path_factory, box_ports):
    """`callbox run` with extensions 101-103, one campaign, trunk 127.0.0.2 (IP-authenticated)."""
    folder = tmp_path_factory.mktemp("box")
    config = folder / "callbox.toml"
    trunk = f"""
[[trunk]]
name = "provider"
host = "127.0.0.2"
port = {box_ports['trunk']}
register = false
"""
    config.write_text(box_config(box_ports["sip"], box_ports["web"], box_ports["rtp"], trunk))
    process = BoxProcess(config, folder / "data")
    process.sip_port = box_ports["sip"]
    process.web_port = box_ports["web"]
    process.start()
    yield process
    process.stop()


@pytest.fixture
def need():
    """need("sipp", ...): skip when a tool is missing, fail under CI=true (tests/peers.py)."""
    return peers.need


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, one per test module (headless, as root)."""
    sync_api = peers.need_module("playwright.sync_api")
    peers.need("chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def make_box(tmp_path):
    """Start boxes (extensions 101-103, trunk 127.0.0.2 on port base + 3) with `extra` config
    appended: the attack tests start a fresh box per test."""
    boxes: list[BoxProcess] = []

    def start(extra: str = "") -> BoxProcess:
        base = free_port_block()
        folder = tmp_path / f"box{base}"
        folder.mkdir()
        trunk = f'\n[[trunk]]\nname = "provider"\nhost = "127.0.0.2"\nport = {base + 3}\n' \
                'register = false\n'
        config = folder / "callbox.toml"
        config.write_text(box_config(base, base + 1, 30000 + (base % 100) * 200, trunk + extra))
        box = BoxProcess(config, folder / "data")
        box.sip_port, box.web_port, box.folder = base, base + 1, folder
        boxes.append(box.start())
        return box

    yield start
    for box in boxes:
        box.stop()
