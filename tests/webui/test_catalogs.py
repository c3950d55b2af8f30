"""The gettext catalogs (docs/i18n.md): complete, not fuzzy, the right Plural-Forms, the same
placeholders as the English, in step with the template; and no visible text in a template
outside `_()`.

Every language of the panel is checked. A language whose catalog folder is not there yet (ru,
bg until their branch is merged) is reported as an expected failure (xfail), never as a pass;
once its folder exists the same tests run on it and must pass.
"""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from babel.plural import to_python
from jinja2 import Environment

from firmware.webui import i18n

ROOT = Path(__file__).resolve().parents[2]
FOLDER = i18n.TRANSLATIONS
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog_of(lang: str):
    path = FOLDER / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        pytest.xfail(f"no {lang} catalog in this branch yet ({path.relative_to(ROOT)})")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def template():
    with (FOLDER / "messages.pot").open("rb") as handle:
        return read_po(handle)


def strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else \
        [message.string]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_translated_and_none_fuzzy(lang):
    catalog = catalog_of(lang)
    assert not catalog.fuzzy, f"{lang}: the catalog header is marked fuzzy"
    untranslated = [m.id for m in catalog if m.id and not all(strings(m))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == [], (untranslated[:20], fuzzy[:20])


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalog_has_every_message_of_the_template(lang):
    catalog = catalog_of(lang)
    missing = [m.id for m in template()
               if m.id and catalog.get(m.id, context=m.context) is None]
    assert missing == [], f"run `make po` and translate: {missing[:20]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_plural_forms_are_the_languages(lang):
    """The header's Plural-Forms picks, for every count, the form CLDR's rule names."""
    catalog = catalog_of(lang)
    rule = Locale.parse(lang).plural_form
    cldr = to_python(rule)
    counts = range(0, 1200)
    used = {cldr(n) for n in counts}    # "other" is only for fractions in pl and ru
    tags = [t for t in ("zero", "one", "two", "few", "many", "other") if t in used]
    assert catalog.num_plurals == len(tags), catalog.plural_forms
    header = dict(catalog.mime_headers)["Plural-Forms"]
    plural = gettext.c2py(re.search(r"plural=(.*?);?\s*$", header).group(1))
    wrong = [n for n in counts if plural(n) != tags.index(cldr(n))]
    assert wrong == [], f"{lang}: {header} is wrong for {wrong[:10]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_match_the_english(lang):
    catalog = catalog_of(lang)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings(message):
            found = set(PLACEHOLDER.findall(text))
            # a singular form may leave out the count ("one call"), never add a name
            if not found <= wanted or (len(ids) == 1 and found != wanted):
                wrong.append((message.id, text))
    assert wrong == []


def test_the_template_is_in_step_with_the_code(tmp_path):
    """`make pot` has been run: extracting again gives the same messages."""
    out = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "-F", "babel.cfg", "-k", "N_", "-k", "ngettext:1,2", "-o", str(out), "."],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    with out.open("rb") as handle:
        fresh = {m.id for m in read_po(handle) if m.id}
    stored = {m.id for m in template() if m.id}
    assert sorted(fresh - stored, key=str) == [] and sorted(stored - fresh, key=str) == [], \
        "run `make po` (docs/i18n.md)"


# -- visible text in templates ----------------------------------------------------------------

# Words a template may show as they are: names of formats and protocols, the same in every
# language of the panel.
ALLOWED_WORDS = {"CSV", "Excel", "HTTP", "XLSX", "SIP", "Callbox"}
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label"}


class _VisibleText(HTMLParser):
    """Text nodes and visible attributes of HTML whose Jinja expressions are \\x00."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1
        values = dict(attrs)
        self.found += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.found.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.found.append(data)


def visible_words(source: str) -> list[str]:
    env = Environment()
    html = "".join(value if kind == "data" else "\x00" if kind == "variable_begin" else ""
                   for _line, kind, value in env.lex(source))
    parser = _VisibleText()
    parser.feed(html)
    words = []
    for text in parser.found:
        text = text.replace("\x00", " ")
        if re.search(r'^\s*<|\w+="', text):       # an attribute cut by a {% if %}, not text
            continue
        words += [w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in ALLOWED_WORDS]
    return words


TEMPLATES = sorted(p for p in (ROOT / "firmware").rglob("templates/*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_visible_text_outside_gettext(path):
    assert visible_words(path.read_text(encoding="utf-8")) == []


def test_the_template_check_sees_plain_text():
    assert visible_words('<p>{{ _("Calls") }}</p>') == []
    assert visible_words("<p>Calls today</p>") == ["Calls", "today"]
    assert visible_words('<input placeholder="Search">') == ["Search"]
    assert visible_words("<p>{{ n }} CSV</p><script>var x = 'Hello';</script>") == []
