"""The funnel report and the task list: pure folds over contacts and the callback queue.

Nothing here touches a store: the web layer hands in copies (contacts, their stage history,
the queue as /api/callbacks renders it) and gets the /api/funnel and /api/tasks shapes back.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo
from typing import Any, Callable, Iterable, Mapping

from firmware.tracker.contact_rules import STAGES
from firmware.tracker.localtime import iso_formatter

DAY = 86400.0


def tasks(callbacks: Iterable[Mapping[str, Any]], in_progress: Iterable[Mapping[str, Any]],
          now: float, tz: tzinfo) -> list[dict[str, Any]]:
    """Every caller to call back and every follow-up, earliest `due_at` first.

    A callback is due since its first missed call; a follow-up at its contact's
    `next_contact_at`. Overdue: due before `now`.
    """
    fmt = iso_formatter(tz)
    found: list[tuple[float, int, dict[str, Any]]] = []
    for entry in callbacks:
        due = datetime.fromisoformat(entry["first_missed_at"]).timestamp()
        found.append((due, len(found), {
            "kind": "callback", "number": entry["number"], "contact": entry.get("contact"),
            "due_at": entry["first_missed_at"], "overdue": due < now,
            "missed_calls": entry.get("missed_calls"), "campaign": entry.get("campaign"),
            "owner": None}))
    for contact in in_progress:
        due = contact["next_contact_at"]
        if due is None:
            continue
        found.append((due, len(found), {
            "kind": "follow_up", "number": contact["numbers"][0] if contact["numbers"] else None,
            "contact": {"id": contact["id"], "name": contact["name"] or contact["company"]},
            "due_at": fmt(due), "overdue": due < now, "missed_calls": None,
            "campaign": contact["campaign"], "owner": contact["owner"] or None}))
    found.sort(key=lambda item: item[:2])
    return [task for _, _, task in found]


def stage_reached_at(history: Iterable[Mapping[str, Any]], stage: str) -> float | None:
    """When the contact last moved into `stage` (from its journal lines), else None."""
    at = None
    for doc in history:
        if doc.get("fields", {}).get("stage") == stage:
            at = doc["at"]
    return at


def funnel(contacts: Iterable[Mapping[str, Any]], low: float, high: float, *,
           won_at: Callable[[str], float | None],
           first_call_at: Callable[[list[str]], float | None],
           sources: Mapping[str, str]) -> dict[str, Any]:
    """/api/funnel over the contacts created in [low, high) (epoch bounds of local days).

    `avg_days_to_won`: from the contact's first inbound call (or its creation, when it never
    called or was created first) to its move to `won`, in days; None when nobody was won.
    """
    stages = Counter({stage: 0 for stage in STAGES})
    groups: dict[str, dict[str, dict[str, Any]]] = {"campaign": {}, "source": {}, "owner": {}}
    reasons: Counter[str] = Counter()
    cycle: list[float] = []
    for contact in contacts:
        if not low <= contact["created_at"] < high:
            continue
        stage = contact["stage"]
        stages[stage] += 1
        keys = {"campaign": contact["campaign"],
                "source": sources.get(contact["campaign"], ""), "owner": contact["owner"]}
        for group, key in keys.items():
            row = groups[group].setdefault(key, {"name": key, "contacts": 0, "won": 0,
                                                 "lost": 0, "value": 0.0})
            row["contacts"] += 1
            if stage in ("won", "lost"):
                row[stage] += 1
            if stage == "won":
                row["value"] += contact["value"] or 0.0
        if stage == "lost":
            reasons[contact["lost_reason"]] += 1
        if stage == "won":
            won = won_at(contact["id"])
            if won is not None:
                first = first_call_at(list(contact["numbers"]))
                start = min(first, contact["created_at"]) if first else contact["created_at"]
                cycle.append(max(0.0, won - start) / DAY)

    def ordered(group: str) -> list[dict[str, Any]]:
        return sorted(groups[group].values(), key=lambda r: (-r["won"], -r["contacts"],
                                                              r["name"]))

    return {
        "stages": {stage: stages[stage] for stage in STAGES},
        "by_campaign": ordered("campaign"),
        "lost_reasons": [{"reason": r, "count": n} for r, n in
                         sorted(reasons.items(), key=lambda item: (-item[1], item[0]))],
        "avg_days_to_won": round(sum(cycle) / len(cycle), 1) if cycle else None,
        # extras (docs/api.md)
        "by_source": ordered("source"),
        "by_owner": ordered("owner"),
        "won_contacts": len(cycle),
    }
