"""The outbox is as safe as the call journal: durable adds, one writer, repair at start-up,
nothing acknowledged lost to a SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from firmware.integrations.outbox import KEEP_DONE, Outbox
from firmware.integrations.retry import DELIVERED, PENDING
from firmware.tracker.errors import StoreLocked

T0 = 1_700_000_000.0


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox")
    box.open()
    yield box
    box.close()


def reopen(box: Outbox) -> Outbox:
    box.close()
    again = Outbox(box.folder)
    again.open()
    return again


def test_items_and_their_tries_survive_a_reopen(outbox):
    a = outbox.add("webhook:x", "c1", "call.ended", '{"a":1}', T0, 3600)
    b = outbox.add("webhook:x", "c1", "wrapup.saved", '{"b":2}', T0 + 1, 3600)
    outbox.record_try(a.id, T0 + 2, 500, "HTTP 500", "oops", PENDING, T0 + 32)
    outbox.record_try(a.id, T0 + 40, 200, "", "ok", DELIVERED, T0 + 40)
    box = reopen(outbox)
    got = {i.id: i for i in box.items()}
    assert [i.id for i in box.items()] == [a.id, b.id]
    assert (got[a.id].tries, got[a.id].state, got[a.id].response) == (2, DELIVERED, "ok")
    assert (got[b.id].tries, got[b.id].state, got[b.id].body) == (0, PENDING, '{"b":2}')
    box.close()


def test_a_second_writer_is_refused(outbox):
    with pytest.raises(StoreLocked):
        Outbox(outbox.folder).open()


def test_torn_and_garbage_lines_are_set_aside_and_good_lines_kept(outbox):
    a = outbox.add("webhook:x", "c1", "call.ended", "{}", T0, 3600)
    outbox.close()
    with open(outbox.path, "ab") as f:
        f.write(b"not json\n" + b'{"op":"item","id":"half')
    box = Outbox(outbox.folder)
    box.open()
    assert [i.id for i in box.items()] == [a.id]
    aside = list(box.folder.glob("outbox.jsonl.corrupt-*"))
    assert len(aside) == 1 and b"not json" in aside[0].read_bytes()
    box.close()


def test_compaction_keeps_pending_and_the_newest_finished(outbox):
    ids = [outbox.add("ga4", f"c{n}", "phone_call", "{}", T0 + n, 3600).id
           for n in range(KEEP_DONE + 20)]
    for n, item_id in enumerate(ids[:-5]):
        outbox.record_try(item_id, T0 + 100 + n, 204, "", "", DELIVERED, T0 + 100 + n)
    box = reopen(outbox)
    kept = box.items()
    assert len(kept) == KEEP_DONE + 5
    assert [i.id for i in kept if i.state == PENDING] == ids[-5:]
    assert len(box.path.read_bytes().splitlines()) == KEEP_DONE + 5
    box.close()


WRITER = """
import sys
from firmware.integrations.outbox import Outbox
box = Outbox(sys.argv[1]); box.open()
n = 0
while True:
    item = box.add("webhook:x", f"c{n}", "call.ended", "x" * 300, 1.0 * n, 3600)
    print(item.id, flush=True)
    n += 1
"""


def test_sigkill_while_adding_loses_nothing_acknowledged(tmp_path):
    folder = tmp_path / "outbox"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)],
                            stdout=subprocess.PIPE, text=True)
    acked = []
    deadline = time.monotonic() + 20
    while len(acked) < 150 and time.monotonic() < deadline:
        acked.append(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    box = Outbox(folder)
    box.open()
    kept = {i.id for i in box.items()}
    assert set(acked) <= kept
    for line in box.path.read_bytes().splitlines():
        json.loads(line)                       # the file is whole again
    box.close()
