"""Issue 14.12: one event is one log line, whatever a stranger put in a URI."""

import io
import logging

from firmware.logline import OneLineFormatter, escape, use_one_line_formatter


def test_escape():
    assert escape("plain text, tab\tkept") == "plain text, tab\tkept"
    assert escape("101\n2024-05-01 WARNING forged") == "101\\n2024-05-01 WARNING forged"
    assert escape("a\r\x00\x1b[2J\x7f\x85\u2028") == "a\\r\\x00\\x1b[2J\\x7f\\x85\\u2028"


def _logger(stream):
    logger = logging.getLogger("test.logline")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.handlers[0].setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.propagate = False
    use_one_line_formatter(logger)
    return logger


def test_a_forged_line_stays_inside_its_own_line():
    stream = io.StringIO()
    logger = _logger(stream)
    logger.warning("register: refused %s from %s", "101\nINFO firmware.pbx.defence: forged",
                   "udp:203.0.113.66:5060")
    lines = stream.getvalue().splitlines()
    assert lines == ["WARNING test.logline: register: refused 101\\nINFO firmware.pbx.defence: "
                     "forged from udp:203.0.113.66:5060"]
    assert isinstance(logger.handlers[0].formatter, OneLineFormatter)


def test_tracebacks_keep_their_lines():
    stream = io.StringIO()
    logger = _logger(stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("call: set-up failed for %s", "x\ny")
    text = stream.getvalue()
    assert text.splitlines()[0] == "ERROR test.logline: call: set-up failed for x\\ny"
    assert "Traceback (most recent call last):" in text
