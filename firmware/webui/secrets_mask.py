"""Secrets in the config text the panel shows: shown as set, never as their value.

Why: the Config file page edits the whole TOML, and it holds phone and trunk passwords, webhook
secrets, the GA4 api_secret, the SMTP password and the central's token. A page is a place a
secret must never appear (it is cached, screenshotted, read over a shoulder). So the text is
shown with each secret replaced by MASK, and on save every value still equal to MASK takes the
file's current value back from the same place (the same table, or the same entry of an array
of tables, found by its name, number or url). A masked secret with nowhere to come from (an
entry added with a copied mask) is a problem naming the key; nothing is saved.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

MASK = "********"
SECRET_KEYS = frozenset({"password", "secret", "api_secret", "token", "pin"})
IDENTITIES = ("name", "number", "url", "host")


def mask(text: str) -> str:
    """`text` with every secret's value replaced by MASK (comments and order kept)."""
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError:
        return text
    for _path, table in _tables(doc):
        for key in list(table.keys()):
            if key in SECRET_KEYS and isinstance(table[key], str) and table[key]:
                table[key] = MASK
    return tomlkit.dumps(doc)


def unmask(text: str, current: str) -> tuple[str, list[str]]:
    """(`text` with MASK values restored from `current`, problems naming unrestorable keys)."""
    try:
        doc = tomlkit.parse(text)
        before = dict(_tables(tomlkit.parse(current)))
    except TOMLKitError:
        return text, []          # parse_config names the syntax problem
    problems = []
    for path, table in _tables(doc):
        for key in list(table.keys()):
            if key in SECRET_KEYS and table[key] == MASK:
                old = before.get(path)
                if old is not None and isinstance(old.get(key), str):
                    table[key] = old[key]
                else:
                    problems.append(f"{_label(path)}.{key}: enter the secret again "
                                    "(the one shown hidden is not there to keep)")
    return tomlkit.dumps(doc), problems


def _tables(doc: Any, prefix: tuple = ()):
    """(path, table) of every table, arrays of tables by (name, identity value)."""
    yield prefix, doc
    for key, value in list(doc.items()):
        if isinstance(value, dict):
            yield from _tables(value, prefix + (key,))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                ident = next((f"{k}={item[k]}" for k in IDENTITIES if k in item), f"#{index}")
                yield from _tables(item, prefix + (key, ident))


def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "config"
