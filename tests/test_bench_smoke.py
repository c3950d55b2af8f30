"""The benchmarks import, their configs and SIPp scenarios are valid, their parsers work.

Nothing here starts the box or SIPp, and nothing is timed: `make bench` runs the benchmarks.
"""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET

import pytest

from firmware.config import parse_config
from tests.e2e.rig import SIPP_DIR

MODULES = ["bench_register", "bench_calls", "bench_startup", "bench_media", "bench_store"]


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_and_has_run(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.run)


def test_main_imports():
    main = importlib.import_module("benchmarks.__main__")
    assert [name for name, _, _ in main.BENCHMARKS][:5] == [
        "bench_startup", "bench_register", "bench_calls", "bench_media", "bench_store"]


def test_bench_configs_are_valid():
    from benchmarks import bench_calls, bench_register

    config = parse_config(bench_register.bench_config(25000, 25001, 100))
    assert [e.number for e in config.extensions][:2] == ["200", "201"]
    assert len(config.extensions) == 100
    config = parse_config(bench_calls.bench_config(25000, 25001, 25003, 40000))
    assert config.campaign_for(bench_calls.CAMPAIGN).ring == ("101",)
    assert [(t.host, t.port, t.register) for t in config.trunks] == [("127.0.0.2", 25003, False)]


@pytest.mark.parametrize("scenario", ["register_bench.xml", "bench_trunk_call.xml",
                                      "bench_phone_answer.xml"])
def test_bench_scenarios_are_well_formed(scenario):
    assert ET.parse(SIPP_DIR / scenario).getroot().tag == "scenario"


def test_users_file(tmp_path):
    from benchmarks.bench_register import users_file

    users_file(tmp_path / "users.csv", 2)
    assert (tmp_path / "users.csv").read_text().splitlines() == [
        "SEQUENTIAL",
        "200;bench-pass-200;[authentication username=200 password=bench-pass-200]",
        "201;bench-pass-201;[authentication username=201 password=bench-pass-201]"]


def test_sipp_stats_and_errors(tmp_path):
    from benchmarks.bench_register import first_sipp_error, sipp_stats

    (tmp_path / "stats.csv").write_text(
        "StartTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);\n"
        "x;10;5;0;\n"
        "y;20;18;2;\n")
    assert sipp_stats(tmp_path / "stats.csv") == {"outgoing": 20, "successful": 18, "failed": 2}
    assert sipp_stats(tmp_path / "missing.csv") == {}
    (tmp_path / "x_1_errors.log").write_text(
        "The following events occurred:\n"
        "2026-11-24\t19:52:43.195746\t1795549963.195746: Continuing call on unexpected "
        "message\nSIP/2.0 404 Not Found\n"
        "2026-11-24\t19:52:44.195746\t1795549964.195746: second event\n")
    assert first_sipp_error(tmp_path) == \
        "Continuing call on unexpected message SIP/2.0 404 Not Found"


def test_markdown_table():
    from benchmarks.__main__ import markdown, row

    lines = markdown([row("a|b", "1 s", "<= 2 s", "ok")]).splitlines()
    assert lines[0].startswith("| what") and lines[1].startswith("|---")
    assert "a\\|b" in lines[2]
