"""The real peers the tests drive (SIPp, baresip, Kamailio, linphone, SIPVicious, chromium,
Playwright, pyVoIP, the RFC 4475 messages): where to find them, and what a missing one means.

On a developer's machine a missing peer skips the tests that need it. Under CI=true it fails
them: a green CI must never hide a peer that did not run. Tools installed by pip into the
virtualenv (SIPVicious) are found beside sys.executable even when .venv/bin is not on PATH.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI") == "true"


def which(tool: str) -> str | None:
    """The path of `tool`: on PATH, else beside this Python (the virtualenv's bin)."""
    found = shutil.which(tool)
    if found is not None:
        return found
    beside = Path(sys.executable).parent / tool
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def missing(reason: str) -> NoReturn:
    """Skip the running test, or fail it under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing peer is a failure)", pytrace=False)
    pytest.skip(reason)


def need(*tools: str) -> None:
    """Every tool is installed (see `which`), or `missing`."""
    for tool in tools:
        if which(tool) is None:
            missing(f"{tool} is not installed")


def need_module(name: str) -> ModuleType:
    """Import a test-only Python package; under CI=true an ImportError is not a skip."""
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name)


def needs(present: bool, reason: str) -> pytest.MarkDecorator:
    """A mark for a test or a module (`pytestmark`) whose peer may be absent: its tests skip
    when `present` is false, or fail under CI=true (tests/conftest.py reads the mark)."""
    return pytest.mark.peer_missing(reason) if not present else pytest.mark.peer_present
