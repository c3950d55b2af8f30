"""The box's outbox: durable, ordered, one writer, survives SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from firmware.uplink import outbox as outbox_module
from firmware.uplink.outbox import Outbox, OutboxLocked


def test_entries_wait_until_acknowledged_and_survive_a_restart(tmp_path):
    box = Outbox(tmp_path, clock=lambda: 1000.0).open()
    seqs = [box.append("call", {"record": {"id": str(n)}}) for n in range(5)]
    assert seqs == list(range(1_000_000, 1_000_005))       # a new outbox starts at now (ms)
    assert box.pending() == 5
    assert [e["record"]["id"] for e in box.batch(3)] == ["0", "1", "2"]
    box.ack(seqs[2])
    assert [e["seq"] for e in box.batch(10)] == seqs[3:]
    box.close()
    again = Outbox(tmp_path, clock=lambda: 5.0).open()
    assert [e["seq"] for e in again.batch(10)] == seqs[3:]
    assert again.append("queue", {"callbacks": []}) == seqs[-1] + 1     # seq keeps growing
    again.close()


def test_one_process_at_a_time(tmp_path):
    box = Outbox(tmp_path).open()
    with pytest.raises(OutboxLocked):
        Outbox(tmp_path).open()
    box.close()


def test_segments_roll_over_and_acknowledged_ones_are_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(outbox_module, "SEGMENT_BYTES", 200)
    box = Outbox(tmp_path, clock=lambda: 1.0).open()
    seqs = [box.append("call", {"record": {"id": "x" * 50}}) for _ in range(10)]
    segments = sorted(tmp_path.glob("seg-*.jsonl"))
    assert len(segments) >= 4
    assert [e["seq"] for e in box.batch(100)] == seqs
    box.ack(seqs[-2])
    assert len(list(tmp_path.glob("seg-*.jsonl"))) == 1
    assert [e["seq"] for e in box.batch(100)] == seqs[-1:]
    box.close()


def test_a_torn_last_line_is_cut_and_junk_lines_are_skipped(tmp_path, caplog):
    box = Outbox(tmp_path, clock=lambda: 1.0).open()
    first = box.append("call", {"record": {"id": "a"}})
    box.close()
    segment = next(tmp_path.glob("seg-*.jsonl"))
    with open(segment, "ab") as f:
        f.write(b'not json\n{"seq": 99999999, "kind": "ca')
    again = Outbox(tmp_path).open()
    assert [e["seq"] for e in again.batch(10)] == [first]
    assert "torn last line" in caplog.text and "unreadable" in caplog.text
    assert again.append("call", {"record": {"id": "b"}}) == first + 1
    again.close()


def test_every_acknowledged_entry_survives_sigkill(tmp_path):
    """A writer appending as fast as it can is killed; every seq it reported is there."""
    script = textwrap.dedent(f"""
        import sys
        from firmware.uplink.outbox import Outbox
        box = Outbox({str(tmp_path)!r}).open()
        while True:
            seq = box.append("call", {{"record": {{"id": "x" * 300}}}})
            sys.stdout.write(f"{{seq}}\\n"); sys.stdout.flush()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            cwd=os.getcwd())
    acknowledged = []
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    box = Outbox(tmp_path).open()
    kept = {e["seq"] for e in box.batch(100_000)}
    assert set(acknowledged) <= kept
    box.close()
