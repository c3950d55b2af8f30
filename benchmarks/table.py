"""Printing benchmark results: one plain-text table or one log line per row."""

from __future__ import annotations

import logging


def format_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """Right-aligned columns: `columns` holds (key in each row, column title)."""
    widths = [max(len(title), *(len(str(row[key])) for row in rows)) for key, title in columns]
    lines = [" | ".join(title.rjust(w) for (_, title), w in zip(columns, widths))]
    lines.append("-+-".join("-" * w for w in widths))
    for row in rows:
        lines.append(" | ".join(str(row[key]).rjust(w) for (key, _), w in zip(columns, widths)))
    return "\n".join(lines)


def log_rows(logger: logging.Logger, rows: list[dict]) -> None:
    """What | measured | target | note rows, one log line each (a module run on its own)."""
    for line in rows:
        logger.info("%s: %s (target %s) %s", line["what"], line["measured"], line["target"],
                    line["note"])
