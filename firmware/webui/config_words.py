"""Config problems (parse_config's "key: message" lines) in the reader's language.

The config checker (firmware/config.py) and the settings pages write their problems in English,
for the log and `callbox check-config`, as `check.problem(key, "message")` and
`ConfigError(["key: message"])`, often f-strings. Rather than thread message ids through every
check, the message ids are read from those calls in the source: a literal is its own id, an
f-string's `{expression}` parts become `%(name)s` placeholders. The same reading serves twice:
`extract` is a Babel extractor (babel.cfg), so the ids reach messages.pot with `make pot`, and
`translate` matches a problem line against them to show it translated. A problem that matches
none is shown as it is (in English), never lost.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from firmware.webui.i18n import current_language, translations

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "config.py", ROOT / "webui" / "config_edit.py",
           ROOT / "webui" / "entry_settings.py", ROOT / "webui" / "settings.py",
           ROOT / "pbx" / "passwords.py")


def sources() -> list[Path]:
    """The config problems' files, and every tracker and panel module that raises BadInput
    (a wrong filter, wrap-up or contact field, shown in the panel as "field: message")."""
    found = list(SOURCES)
    for folder in (ROOT / "tracker", ROOT / "webui"):
        for path in sorted(folder.glob("*.py")):
            if path not in found and "BadInput(" in path.read_text(encoding="utf-8"):
                found.append(path)
    return found


def _name(node: ast.AST, taken: set[str]) -> str:
    if isinstance(node, ast.Name):
        base = node.id
    elif isinstance(node, ast.Attribute):
        base = node.attr
    else:
        base = "value"
    base = base.strip("_") or "value"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def _message(node: ast.AST, *, keyed: bool) -> tuple[str, str] | None:
    """(message id, regular expression) of a problem text node; `keyed`: the text starts with
    "key: " (a ConfigError line), which is cut off."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        parts: list[ast.AST] = [node]
    elif isinstance(node, ast.JoinedStr):
        parts = list(node.values)
    else:
        return None
    if keyed:       # drop everything up to the first literal ": "
        for index, part in enumerate(parts):
            if isinstance(part, ast.Constant) and ": " in part.value:
                rest = part.value.split(": ", 1)[1]
                parts = ([ast.Constant(rest)] if rest else []) + parts[index + 1:]
                break
        else:
            return None
    message, pattern, taken = "", "", set()
    for part in parts:
        if isinstance(part, ast.Constant):
            text = str(part.value)
            message += text.replace("%", "%%")
            pattern += re.escape(text)
        else:
            name = _name(part.value, taken)
            message += f"%({name})s"
            pattern += f"(?P<{name}>.+?)"
    if not re.search(r"[A-Za-z]{2}", re.sub(r"%\(\w+\)s", "", message)):
        return None
    return message, pattern


def _calls(tree: ast.AST):
    """(line, node, keyed) of every problem text in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
            # a function that answers a problem's words (pbx/passwords.py): its returned texts
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    yield inner.lineno, inner.value, False
            continue
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "problem" and len(node.args) == 2:
            yield node.lineno, node.args[1], False
        elif isinstance(func, ast.Name) and func.id == "BadInput" and len(node.args) >= 2:
            yield node.lineno, node.args[1], False
        elif isinstance(func, ast.Name) and func.id == "ConfigError" and node.args \
                and isinstance(node.args[0], ast.List):
            for item in node.args[0].elts:
                yield node.lineno, item, True


def messages_in(source: str) -> list[tuple[int, str, str]]:
    found = []
    for line, node, keyed in _calls(ast.parse(source)):
        made = _message(node, keyed=keyed)
        if made:
            found.append((line, *made))
    return found


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, str]]:
    seen: dict[str, str] = {}
    for path in sources():
        try:
            source = path.read_text(encoding="utf-8")
        except OSError:
            continue
        for _line, message, pattern in messages_in(source):
            seen.setdefault(message, pattern)
    # the longest literal text first, so "must be a string" wins over "%(value)s"
    ordered = sorted(seen.items(), key=lambda item: -len(re.sub(r"%\(\w+\)s", "", item[0])))
    return [(re.compile(pattern, re.DOTALL), message) for message, pattern in ordered]


def translate(problem: str) -> str:
    """One "key: message" problem line with its message in the reader's language."""
    key, sep, message = problem.partition(": ")
    if not sep:
        key, message = "", problem
    for pattern, message_id in _patterns():
        match = pattern.fullmatch(message)
        if match:
            text = translations(current_language()).ugettext(message_id) % match.groupdict()
            return f"{key}{sep}{text}" if sep else text
    return problem


def translate_message(message: str) -> str:
    """A problem's message alone (a BadInput's), in the reader's language."""
    return translate(f"-: {message}")[3:]


def translate_all(problems: list[str]) -> list[str]:
    return [translate(problem) for problem in problems]


def extract(fileobj, keywords, comment_tags, options):
    """Babel extractor (babel.cfg, `config_problems`): the module's `_()` messages as Babel's
    Python extractor finds them, and its problem texts."""
    import io

    from babel.messages.extract import extract_python

    data = fileobj.read()
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)
    for line, message, _pattern in messages_in(data.decode(options.get("encoding", "utf-8"))):
        yield line, "", message, ["a config problem shown in the panel after its key"]
