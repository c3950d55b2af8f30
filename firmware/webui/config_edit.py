"""Edits of the config file from the settings forms, keeping the owner's comments and layout.

Why tomlkit: the config file is the single source of truth and people edit it by hand too,
with comments that explain their numbers. tomllib only reads, and writing the parsed dict back
would drop every comment and reorder the file; tomlkit changes just the values it is told to.
Pure functions from text to text: the caller validates the result with `parse_config` (the
same checks as `callbox check-config`) before anything is written.

Entries are the tables of an array like `[[campaign]]`, addressed by position (0-based) and
guarded by their identity (a campaign's name, an extension's number): an edit made on a page
older than the file is refused instead of landing on another entry.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import tomlkit
from tomlkit.exceptions import TOMLKitError

from firmware.config import ConfigError


def entry_count(text: str, array: str) -> int:
    """How many `[[array]]` tables `text` has (a new one lands at this index)."""
    tables = _parse(text).get(array)
    return len(tables) if tables is not None else 0


def set_entry(text: str, array: str, index: int | None, values: Mapping[str, Any],
              identity: str = "name", expected: str | None = None) -> str:
    """`text` with entry `index` of `[[array]]` (None: a new one at the end) set to `values`.

    Keys not in `values` stay as they are; a value of None removes its key (the default
    applies). ConfigError when `expected` no longer names the entry.
    """
    doc = _parse(text)
    tables = doc.get(array)
    if tables is None:
        tables = tomlkit.aot()
        doc.append(array, tables)
    table = tomlkit.table() if index is None else _entry(tables, array, index, identity,
                                                          expected)
    _set_values(table, values)
    if index is None:
        table.add(tomlkit.nl())         # a blank line before whatever follows
        tables.append(table)
    return tomlkit.dumps(doc)


def delete_entry(text: str, array: str, index: int, identity: str = "name",
                 expected: str | None = None) -> str:
    """`text` without entry `index` of `[[array]]`."""
    doc = _parse(text)
    tables = doc.get(array)
    if tables is None:
        raise ConfigError([f"{array}: there are none"])
    _entry(tables, array, index, identity, expected)
    del tables[index]
    if not len(tables):
        del doc[array]
    return tomlkit.dumps(doc)


def set_tables(text: str, tables: Mapping[str, Mapping[str, Any]]) -> str:
    """`text` with keys of plain tables (`[box]`, `[tracking]`) set; None removes a key."""
    doc = _parse(text)
    for name, values in tables.items():
        table = doc.get(name)
        if table is None:
            if all(value is None for value in values.values()):
                continue
            table = tomlkit.table()
            doc.append(name, table)
        _set_values(table, values)
    return tomlkit.dumps(doc)


def field_problems(problems: list[str], tables: Iterable[str]
                   ) -> tuple[dict[str, str], list[str]]:
    """Split parse_config's problems into those of the form's fields and the rest.

    `tables` are the config tables the form shows ("campaign[3]", "box"); a problem of
    `table.key` belongs to the form's field `key`.
    """
    tables = set(tables)
    fields: dict[str, str] = {}
    rest = []
    for problem in problems:
        key, _, message = problem.partition(": ")
        table, dot, name = key.rpartition(".")
        if dot and table in tables:
            fields.setdefault(name, message)
        else:
            rest.append(problem)
    return fields, rest


def _set_values(table: Any, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if value is None:
            if key in table:
                del table[key]
            continue
        table[key] = _toml_value(value)


def _toml_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        array = tomlkit.array()
        array.extend(value)
        return array
    if isinstance(value, float) and value.is_integer():
        return int(value)               # "lead_value = 300", as people write it
    return value


def _entry(tables: Any, array: str, index: int, identity: str, expected: str | None) -> Any:
    if not 0 <= index < len(tables):
        raise ConfigError([f"{array}[{index + 1}]: not there any more (the file has changed)"])
    table = tables[index]
    if expected is not None and str(table.get(identity, "")) != expected:
        raise ConfigError([f"{array}[{index + 1}]: the file has changed since the page was "
                           "opened; open it again"])
    return table


def _parse(text: str) -> Any:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError([f"config: not valid TOML: {exc}"]) from None

