"""What a dashboard module is (modules.py draws the first ones, figure_modules.py issue 21's):
kept apart so either file can be imported first without a circular import."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


@dataclass(frozen=True)
class Module:
    name: str
    title: str
    chart: Markup | None          # None: nothing to draw in this period
    table: list[tuple[str, str]]  # (label, formatted value) rows for the data table
    note: str = ""
