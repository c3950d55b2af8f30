"""Benchmark of the contacts store: importing 10,000 spreadsheet rows through the API, searching
50,000 contacts, and the cost of one change at 50 and at 50,000 contacts.

    python -m benchmarks.bench_contacts [--rows 10000] [--contacts 50000]
    python benchmarks/bench_contacts.py

The import goes through the real path: an .xlsx made with openpyxl, posted to
`POST /api/contacts/import` on the panel (Flask test client, HTTP Basic) over a started
Tracker in a temporary folder; the time is the whole request (reading the sheet, numbers
through phonenumbers, one journal line, fdatasync). `run()` returns table rows for `make bench`.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

if __package__ in (None, ""):               # run as a script: make `firmware` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher                               # noqa: E402
from openpyxl import Workbook                                   # noqa: E402

from firmware.config import parse_config                        # noqa: E402
from firmware.tracker.contact_rules import Rules                # noqa: E402
from firmware.tracker.contact_store import ContactStore, ImportRow  # noqa: E402

logger = logging.getLogger(__name__)

TZ = zoneinfo.ZoneInfo("Europe/Warsaw")
RULES = Rules(country="PL", tz=TZ, campaigns=("Shop window",))
FIRST = ["Anna", "Piotr", "Maria", "Jan", "Ewa", "Tomasz", "Kasia", "Marek", "Ola", "Adam"]
LAST = ["Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Zieliński"]
CONFIG = """
[box]
name = "Bench"
timezone = "Europe/Warsaw"
country = "PL"
currency = "PLN"

[[campaign]]
name = "Shop window"
number = "+48221234567"
source = "Outdoor"
"""
IMPORT_TARGET_S = 10.0
SEARCH_TARGET_MS = 50.0


def people(count: int, seed: int = 1) -> list[tuple[str, str, str, str]]:
    """(name, company, phone as people type it, e-mail) for `count` distinct numbers."""
    rng = random.Random(seed)
    numbers = rng.sample(range(500_000_000, 899_999_999), count)
    return [(f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}", f"Firma {n % 997}",
             f"{number // 1_000_000} {number // 1000 % 1000:03d} {number % 1000:03d}",
             f"p{n}@example.com") for n, number in enumerate(numbers)]


def workbook(rows: list[tuple[str, str, str, str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Kontakty")
    sheet.append(["Imię i nazwisko", "Firma", "Telefon", "E-mail"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bench_import(rows: int) -> dict:
    from firmware.tracker.service import Tracker
    from firmware.webui.app import create_app
    from firmware.webui.users import UserStore

    data = workbook(people(rows))
    with tempfile.TemporaryDirectory() as folder:
        tracker = Tracker(parse_config(CONFIG, "<bench>"), Path(folder))
        tracker.start()
        try:
            users = UserStore(Path(folder),
                              hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
            users.set_password("owner", "owner-pass-1", "owner")
            app = create_app(tracker._config, tracker, users, secret_key="bench")
            client = app.test_client()
            auth = {"Authorization": "Basic " + base64.b64encode(b"owner:owner-pass-1").decode()}
            start, cpu = time.perf_counter(), time.process_time()
            answer = client.post("/api/contacts/import", headers=auth,
                                 content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(data), "contacts.xlsx")})
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            result = answer.get_json()
            if answer.status_code != 200 or result["imported"] != rows:
                raise RuntimeError(f"import failed: {answer.status_code} {str(result)[:200]}")
            written = tracker.contacts.bytes_written
        finally:
            tracker.stop()
    return {"seconds": seconds, "cpu": cpu, "load": os.getloadavg()[0], "rows": rows,
            "file_kb": len(data) / 1024,
            "written_kb": written / 1024}


def filled_store(folder: Path, count: int) -> ContactStore:
    store = ContactStore(folder)
    store.open()
    batch = 10_000
    everyone = people(count, seed=2)
    for first in range(0, count, batch):
        rows = [ImportRow(row=n, fields={"name": name, "company": company, "email": email},
                          numbers=[phone])
                for n, (name, company, phone, email) in enumerate(everyone[first:first + batch])]
        store.import_rows(rows, "Shop window", "bench", RULES)
    return store


def timed(func, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return times


def change_cost(store: ContactStore, repeat: int = 100) -> tuple[float, float]:
    """Median ms and bytes written per change (a stage move of an existing contact)."""
    ids = [c["id"] for c in store.search()[:repeat]]
    before = store.bytes_written
    times = []
    for n, contact_id in enumerate(ids):
        start = time.perf_counter()
        store.change(contact_id, {"stage": "offered" if n % 2 else "won", "value": 100 + n},
                     "bench", RULES)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), (store.bytes_written - before) / len(ids)


def bench_store(count: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        small = filled_store(Path(folder) / "small", 50)
        small_ms, small_bytes = change_cost(small, 50)
        small.close()
        start = time.perf_counter()
        store = filled_store(Path(folder) / "big", count)
        fill = time.perf_counter() - start
        try:
            sample = store.search()[count // 2]
            queries = {"a name": sample["name"].split()[-1],
                       "a company": "firma 123",
                       "part of a number": sample["numbers"][0][-7:-2],
                       "nobody": "zzzz"}
            search = {what: statistics.median(timed(lambda q=q: store.search(q), 15))
                      for what, q in queries.items()}
            big_ms, big_bytes = change_cost(store, 100)
        finally:
            store.close()
        again = ContactStore(Path(folder) / "big")
        start = time.perf_counter()
        again.open()
        load = time.perf_counter() - start
        again.close()
    return {"contacts": count, "fill": fill, "search": search, "load": load,
            "small_ms": small_ms, "small_bytes": small_bytes, "big_ms": big_ms,
            "big_bytes": big_bytes}


def run(rows: int = 10_000, contacts: int = 50_000) -> list[dict]:
    imported = bench_import(rows)
    logger.info("import of %d rows: %.2f s", rows, imported["seconds"])
    figures = bench_store(contacts)
    worst = max(figures["search"].values())
    flat = figures["big_bytes"] <= 1.2 * figures["small_bytes"] and \
        figures["big_ms"] <= max(2 * figures["small_ms"], figures["small_ms"] + 5)
    return [
        {"what": f"importing {rows:,} contact rows (.xlsx through the API)",
         "measured": f"{imported['seconds']:.2f} s", "target": f"< {IMPORT_TARGET_S:.0f} s",
         "note": f"{'ok' if imported['seconds'] < IMPORT_TARGET_S else 'MISSES TARGET'}; "
                 f"wall time; {imported['cpu']:.2f} s of CPU (load average "
                 f"{imported['load']:.1f} on {os.cpu_count()} cores); "
                 f"a {imported['file_kb']:.0f} KB file; one journal line of "
                 f"{imported['written_kb']:.0f} KB, fdatasync'ed"},
        {"what": f"contact search over {contacts:,} contacts",
         "measured": f"{worst:.1f} ms", "target": f"<= {SEARCH_TARGET_MS:.0f} ms",
         "note": f"{'ok' if worst <= SEARCH_TARGET_MS else 'MISSES TARGET'}; slowest of "
                 + ", ".join(f"{k} {v:.1f} ms" for k, v in figures["search"].items())
                 + " (median of 15 each)"},
        {"what": f"one contact change ({contacts:,} stored)",
         "measured": f"{figures['big_ms']:.2f} ms, {figures['big_bytes']:.0f} B written",
         "target": "cost flat",
         "note": f"{'ok' if flat else 'MISSES TARGET'}; at 50 contacts "
                 f"{figures['small_ms']:.2f} ms, {figures['small_bytes']:.0f} B; median of 100 "
                 f"stage moves (one line + fdatasync); start-up load of {contacts:,}: "
                 f"{figures['load']:.2f} s"},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("firmware").setLevel(logging.WARNING)
    from benchmarks.table import format_table
    rows = run(args.rows, args.contacts)
    print(format_table(rows, [("what", "what"), ("measured", "measured"),
                              ("target", "target"), ("note", "note")]))


if __name__ == "__main__":
    main()
