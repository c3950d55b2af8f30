"""One-off: move Polish kept in Python dictionaries into the gettext catalog (docs/i18n.md).

    .venv/bin/python scripts/i18n_dicts_to_po.py [MODULE ...]

Reads every `dict` named in capitals in the given modules (default: firmware.webui.i18n_pl and
every firmware/webui/i18n_pl_*.py), and fills the messages of
firmware/webui/translations/pl/LC_MESSAGES/messages.po that are still untranslated (the .po is
made from messages.pot when missing; run `make pot` first). Translations already in the .po
win. Prints what it could not place (dictionary entries no longer in the template). Not used
at run time: after running it, delete the dictionary modules.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "firmware/webui/translations"
PO = FOLDER / "pl/LC_MESSAGES/messages.po"


def dictionaries(modules: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in modules:
        for attribute, value in vars(importlib.import_module(name)).items():
            if attribute.isupper() and isinstance(value, dict):
                for english, polish in value.items():
                    found.setdefault(english, polish)
    return found


def main(argv: list[str]) -> int:
    modules = argv or ["firmware.webui.i18n_pl", *(
        f"firmware.webui.{p.stem}" for p in sorted((ROOT / "firmware/webui").glob("i18n_pl_*.py")))]
    polish = dictionaries(modules)
    with (FOLDER / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    if PO.exists():
        with PO.open("rb") as handle:
            catalog = read_po(handle, locale="pl")
        catalog.update(template, no_fuzzy_matching=True)
    else:
        catalog = Catalog(locale=Locale.parse("pl"), project="Callbox",
                          language_team="Polski", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True)
    used = set()
    for message in catalog:
        if not message.id or message.string:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in polish and isinstance(message.id, str):
            message.string = polish[key]
            used.add(key)
    catalog.fuzzy = False
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=0, sort_output=True, include_previous=False)
    left = sorted(set(polish) - used - {m.id for m in catalog if m.string})
    missing = [m.id for m in catalog if m.id and not m.string]
    print(f"{len(used)} placed; {len(left)} dictionary entries not in the template; "
          f"{len(missing)} messages still untranslated", file=sys.stderr)
    for english in left:
        print(f"  not placed: {english!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
