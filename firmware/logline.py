"""One event, one log line: the log formatter that escapes what strangers wrote.

Why: the box logs to stdout, one line per event, and journald (or whoever reads it) splits
on line ends. SIP URIs, user names and display names come from anyone on the internet, and
`%0A` in a URI unescapes to a newline: without this a caller could append forged lines
("defence: banned 192.168.1.20 ...") to the log, or send terminal escapes to whoever runs
`journalctl` (issue 14.12). Escaping in the formatter fixes the class, not each call site:
every message is escaped after formatting; tracebacks (exc_info) keep their lines, since
they come from the box itself.
"""

from __future__ import annotations

import logging
import re

# C0 controls but tab, DEL, C1 controls, and the Unicode line and paragraph separators
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def escape(text: str) -> str:
    """`text` with line ends as \\n / \\r and other control characters as \\xNN / \\uNNNN."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class OneLineFormatter(logging.Formatter):
    """A logging.Formatter whose message part is always one line (see escape)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape(record.message)
        return super().formatMessage(record)


def use_one_line_formatter(logger: logging.Logger | None = None) -> None:
    """Give every handler of `logger` (the root logger by default) a OneLineFormatter with
    the format it has now."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter
        handler.setFormatter(OneLineFormatter(
            current._fmt if current is not None else None,
            current.datefmt if current is not None else None))
