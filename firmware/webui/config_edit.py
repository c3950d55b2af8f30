"""Edits of the config file from the settings forms, keeping the owner's comments and layout.

Why tomlkit: the config file is the single source of truth and people edit it by hand too,
with comments that explain their numbers. tomllib only reads, and writing the parsed dict back
would drop every comment and reorder the file; tomlkit changes just the values it is told to.
Pure functions from text to text: the caller validates the result with `parse_config` (the
same checks as `callbox check-config`) before anything is written.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

import tomlkit
from tomlkit.exceptions import TOMLKitError

from firmware.config import ConfigError

CAMPAIGN_FIELDS = ("name", "number", "source", "lead_value", "cost_per_month", "ring")
MAX_TEXT = 200
MAX_AMOUNT = 1e9
_AMOUNT = re.compile(r"^\d{1,10}([.,]\d{1,2})?$")


class FieldError(ValueError):
    """A form field the owner has to correct, with the message shown next to it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def campaign_values(form: Mapping[str, Any], extensions: list[str]) -> dict[str, Any]:
    """The TOML values of a campaign form; FieldError for what cannot be a value at all.

    Whether the number is a real phone number, the name unique and so on is left to
    parse_config, which checks the whole file.
    """
    values: dict[str, Any] = {}
    for field in ("name", "number", "source"):
        text = _text(form, field)
        if field != "source" and not text:
            raise FieldError(field, "required")
        values[field] = text
    for field in ("lead_value", "cost_per_month"):
        values[field] = _amount(form, field)
    ring = [str(ext) for ext in form.getlist("ring")] if hasattr(form, "getlist") \
        else list(form.get("ring") or [])
    if not ring:
        raise FieldError("ring", "choose the phones that ring")
    if any(ext not in extensions for ext in ring):
        raise FieldError("ring", "not an extension of this box")
    values["ring"] = ring
    return values


def set_campaign(text: str, index: int | None, values: Mapping[str, Any],
                 expected_name: str | None = None) -> str:
    """`text` with campaign `index` (0-based; None: a new one at the end) set to `values`.

    Keys the form does not show (after-hours routing) stay as they are. `expected_name` guards
    against an edit made on a page older than the file: ConfigError when it no longer matches.
    """
    doc = _parse(text)
    campaigns = doc.get("campaign")
    if campaigns is None:
        campaigns = tomlkit.aot()
        doc.append("campaign", campaigns)
    table = tomlkit.table() if index is None else _campaign(campaigns, index, expected_name)
    for key in CAMPAIGN_FIELDS:
        value = values[key]
        if key == "ring":
            ring = tomlkit.array()
            ring.extend(value)
            value = ring
        elif isinstance(value, float) and value.is_integer():
            value = int(value)          # "lead_value = 300", as people write it
        table[key] = value
    if index is None:
        table.add(tomlkit.nl())         # a blank line before whatever follows
        campaigns.append(table)
    return tomlkit.dumps(doc)


def campaign_count(text: str) -> int:
    """How many [[campaign]] tables `text` has (where a new one lands: at this index)."""
    campaigns = _parse(text).get("campaign")
    return len(campaigns) if campaigns is not None else 0


def delete_campaign(text: str, index: int, expected_name: str | None = None) -> str:
    """`text` without campaign `index`; its calls stay in the history under its name."""
    doc = _parse(text)
    campaigns = doc.get("campaign")
    if campaigns is None:
        raise ConfigError(["campaign: there are no campaigns"])
    _campaign(campaigns, index, expected_name)
    del campaigns[index]
    if not len(campaigns):
        del doc["campaign"]
    return tomlkit.dumps(doc)


def field_problems(problems: list[str], index: int) -> tuple[dict[str, str], list[str]]:
    """Split parse_config's problems into those of campaign `index`'s fields and the rest."""
    prefix = f"campaign[{index + 1}]."
    fields: dict[str, str] = {}
    rest = []
    for problem in problems:
        key, _, message = problem.partition(": ")
        if key.startswith(prefix) and key[len(prefix):] in CAMPAIGN_FIELDS:
            fields.setdefault(key[len(prefix):], message)
        else:
            rest.append(problem)
    return fields, rest


def _campaign(campaigns: Any, index: int, expected_name: str | None) -> Any:
    if not 0 <= index < len(campaigns):
        raise ConfigError([f"campaign[{index + 1}]: no such campaign (the file has changed)"])
    table = campaigns[index]
    if expected_name is not None and str(table.get("name", "")) != expected_name:
        raise ConfigError([f"campaign[{index + 1}]: the file has changed since the page was "
                           "opened; open the campaigns again"])
    return table


def _parse(text: str) -> Any:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError([f"config: not valid TOML: {exc}"]) from None


def _text(form: Mapping[str, Any], field: str) -> str:
    value = form.get(field) or ""
    if not isinstance(value, str):
        raise FieldError(field, "must be text")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise FieldError(field, f"at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise FieldError(field, "must not contain control characters")
    return value


def _amount(form: Mapping[str, Any], field: str) -> float:
    """An amount of money as people type it: 300, 300.50 or 300,50 (empty: 0)."""
    value = (form.get(field) or "").strip().replace(" ", "").replace("\u00a0", "")
    if not value:
        return 0.0
    if not _AMOUNT.match(value):
        raise FieldError(field, "an amount like 300 or 300.50")
    amount = float(value.replace(",", "."))
    if not math.isfinite(amount) or amount > MAX_AMOUNT:
        raise FieldError(field, "too large")
    return amount
