"""The weekly summary as an e-mail: readable HTML with a plain-text part (pure).

Made from the same figures as `/api/summary` (Tracker.summary) and the callback queue, so
the mail never disagrees with the panel. HTML mail clients ignore style sheets, so the
styles are inline and the layout is tables.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from firmware.config import Config
from firmware.webui.i18n import Formatter, in_box_language
from firmware.webui.i18n import gettext as _

MAX_CALLBACKS = 20


def subject(config: Config, start: date, end: date, fmt: Formatter) -> str:
    return _("%(box)s: calls %(start)s – %(end)s", box=config.box.name,
             start=fmt.date(start), end=fmt.date(end))


def figures(summary: dict, fmt: Formatter) -> list[tuple[str, str]]:
    return [(_("Answered"), fmt.number(summary["answered"])),
            (_("Missed"), fmt.number(summary["missed"])),
            (_("To call back (now)"), fmt.number(summary["to_call_back"])),
            (_("Average wait"), fmt.seconds(summary["avg_wait_seconds"])),
            (_("Target calls"), fmt.number(summary["target_calls"])),
            (_("First-time callers"), fmt.number(summary["first_time_callers"])),
            (_("Value"), fmt.money(summary.get("value", 0)))]


@in_box_language
def compose(config: Config, summary: dict, callbacks: list[dict], start: date, end: date,
            now: float) -> EmailMessage:
    """The message (From, To, Subject, Date set); raises nothing for any figures."""
    email = config.email
    fmt = Formatter(config.box.country, config.box.currency, config.box.timezone)
    message = EmailMessage()
    message["Subject"] = subject(config, start, end, fmt)
    message["From"] = email.sender if email else ""
    message["To"] = ", ".join(email.weekly_to) if email else ""
    message["Date"] = formatdate(now, localtime=False)
    message["Message-ID"] = make_msgid("callbox")
    message.set_content(_text(config, summary, callbacks, start, end, fmt))
    message.add_alternative(_html(config, summary, callbacks, start, end, fmt), subtype="html")
    return message


def _rows(items: list[dict], fmt: Formatter) -> list[tuple[str, str, str]]:
    return [(item["name"] or _("(none)"), fmt.number(item["calls"]), fmt.money(item["value"]))
            for item in items]


def _text(config: Config, summary: dict, callbacks: list[dict], start: date, end: date,
          fmt: Formatter) -> str:
    lines = [subject(config, start, end, fmt), ""]
    lines += [f"{label}: {value}" for label, value in figures(summary, fmt)]
    for title, key in ((_("Top campaigns"), "top_campaigns"), (_("Top sources"), "top_sources")):
        rows = _rows(summary.get(key, []), fmt)
        if rows:
            lines += ["", title + ":"] + [f"  {name}: {calls} · {value}"
                                          for name, calls, value in rows]
    if callbacks:
        lines += ["", _("Still to call back:")]
        lines += [f"  {c['number']} ({c['campaign'] or '–'}), {c['missed_calls']}×, "
                  f"{fmt.date(c['last_missed_at'])}" for c in callbacks[:MAX_CALLBACKS]]
    lines += ["", _("Sent by %(box)s.", box=config.box.name)]
    return "\n".join(lines) + "\n"


CELL = "padding:6px 10px;border-bottom:1px solid #e3e6eb;"
HEAD = "padding:4px 10px;color:#8a93a3;font-size:12px;"


def _html(config: Config, summary: dict, callbacks: list[dict], start: date, end: date,
          fmt: Formatter) -> str:
    e = escape
    parts = [
        '<!doctype html><html><body style="margin:0;background:#f3f5f8;'
        'font-family:Helvetica,Arial,sans-serif;color:#1d2433">',
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
        '<tr><td align="center" style="padding:24px 12px">',
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="max-width:600px;background:#ffffff;border:1px solid #dde1e8;border-radius:10px">',
        f'<tr><td style="padding:20px 24px;background:#182033;color:#ffffff;'
        f'border-radius:10px 10px 0 0"><div style="font-size:13px;color:#aab4c8">'
        f'{e(config.box.name)}</div><div style="font-size:20px;font-weight:bold">'
        f'{e(_("Weekly summary"))} {e(fmt.date(start))} – {e(fmt.date(end))}</div></td></tr>',
        '<tr><td style="padding:16px 24px"><table role="presentation" width="100%" '
        'cellpadding="0" cellspacing="0">']
    for label, value in figures(summary, fmt):
        parts.append(f'<tr><td style="{CELL}color:#5b6475">{e(label)}</td>'
                     f'<td style="{CELL}text-align:right;font-weight:bold;font-size:17px">'
                     f'{e(value)}</td></tr>')
    parts.append("</table></td></tr>")
    for title, key in ((_("Top campaigns"), "top_campaigns"), (_("Top sources"), "top_sources")):
        rows = _rows(summary.get(key, []), fmt)
        if not rows:
            continue
        parts.append(f'<tr><td style="padding:8px 24px"><h2 style="font-size:15px;margin:8px 0">'
                     f'{e(title)}</h2><table role="presentation" width="100%" cellpadding="0" '
                     f'cellspacing="0"><tr><td style="{HEAD}"></td><td style="{HEAD}'
                     f'text-align:right">{e(_("Calls"))}</td><td style="{HEAD}text-align:right">'
                     f'{e(_("Value"))}</td></tr>')
        parts += [f'<tr><td style="{CELL}">{e(name)}</td><td style="{CELL}text-align:right">'
                  f'{e(calls)}</td><td style="{CELL}text-align:right">{e(value)}</td></tr>'
                  for name, calls, value in rows]
        parts.append("</table></td></tr>")
    if callbacks:
        parts.append(f'<tr><td style="padding:8px 24px"><h2 style="font-size:15px;'
                     f'margin:8px 0;color:#b03030">{e(_("Still to call back"))}</h2>'
                     f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0">')
        parts += [f'<tr><td style="{CELL}">{e(c["number"])}</td><td style="{CELL}">'
                  f'{e(c["campaign"] or "–")}</td><td style="{CELL}text-align:right">'
                  f'{e(str(c["missed_calls"]))}×</td><td style="{CELL}text-align:right">'
                  f'{e(fmt.date(c["last_missed_at"]))}</td></tr>'
                  for c in callbacks[:MAX_CALLBACKS]]
        parts.append("</table></td></tr>")
    parts.append(f'<tr><td style="padding:16px 24px;color:#8a93a3;font-size:12px">'
                 f'{e(_("Sent by %(box)s.", box=config.box.name))}</td></tr>')
    parts.append("</table></td></tr></table></body></html>")
    return "\n".join(parts)


@in_box_language
def compose_digest(config: Config, waiting: list[dict], now: float) -> EmailMessage:
    """The daily digest: callers waiting over a day to be called back, longest first."""
    email = config.email
    fmt = Formatter(config.box.country, config.box.currency, config.box.timezone)
    message = EmailMessage()
    message["Subject"] = _("%(box)s: callers waiting over a day (%(count)s)",
                           box=config.box.name, count=len(waiting))
    message["From"] = email.sender if email else ""
    message["To"] = ", ".join(email.daily_to) if email else ""
    message["Date"] = formatdate(now, localtime=False)
    message["Message-ID"] = make_msgid("callbox")
    rows = [(c["number"], c["campaign"] or "–", f'{c["missed_calls"]}×',
             fmt.date(c["first_missed_at"])) for c in waiting[:MAX_CALLBACKS * 5]]
    title = _("Still to call back")
    message.set_content("\n".join([title + ":"] + ["  " + " · ".join(r) for r in rows]
                                  + ["", _("Sent by %(box)s.", box=config.box.name)]) + "\n")
    cells = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{escape(v)}</td>' for v in row) + "</tr>"
        for row in rows)
    message.add_alternative(
        '<!doctype html><html><body style="font-family:Helvetica,Arial,sans-serif;'
        'color:#1d2433;padding:16px">'
        f'<h2 style="font-size:17px;color:#b03030">{escape(title)}</h2>'
        f'<table role="presentation" cellpadding="0" cellspacing="0">{cells}</table>'
        f'<p style="color:#8a93a3;font-size:12px">'
        f'{escape(_("Sent by %(box)s.", box=config.box.name))}</p></body></html>',
        subtype="html")
    return message
