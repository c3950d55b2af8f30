"""`GET /snippet.js`: the number swap a website pastes once (docs/webhooks.md, "Number swap").

The script is made from the campaigns' `web_source` rules when asked for, so it always
matches the config. It has no dependencies, sets no cookies and sends nothing back: it reads
utm_source / utm_medium and the referrer's host, keeps the match for the visit (the tab's
sessionStorage), and writes the number into the elements marked `data-callbox-number`
(a link also gets `href="tel:..."`). When nothing matches, the page is left as it was.

Rules: "google/cpc" matches utm_source=google and utm_medium=cpc; "newsletter" matches
utm_source=newsletter; a rule with a dot ("facebook.com") also matches a visitor who came
from that host or one under it (m.facebook.com). utm rules win over the referrer.
"""

from __future__ import annotations

import json

import phonenumbers

from firmware.config import Config

SCRIPT = """/* Callbox number swap: shows the campaign number that matches the visitor's source. */
(function () {
  "use strict";
  var rules = %(rules)s, key = "callbox-number", hit = null, i, r;
  function get(name) {
    var m = new RegExp("[?&]" + name + "=([^&#]*)").exec(location.search);
    try { return m ? decodeURIComponent(m[1].replace(/\\+/g, " ")).toLowerCase() : ""; }
    catch (e) { return ""; }
  }
  var source = get("utm_source"), medium = get("utm_medium"), ref = "";
  try { ref = document.referrer ? new URL(document.referrer).hostname.toLowerCase() : ""; }
  catch (e) { ref = ""; }
  if (ref === location.hostname) { ref = ""; }
  for (i = 0; i < rules.length && !hit; i++) {
    r = rules[i];
    if (source && source === r.s && (!r.m || medium === r.m)) { hit = r; }
  }
  for (i = 0; i < rules.length && !hit; i++) {
    r = rules[i];
    if (ref && !r.m && r.s.indexOf(".") > 0 &&
        (ref === r.s || ref.slice(-r.s.length - 1) === "." + r.s)) { hit = r; }
  }
  try {
    if (hit) { sessionStorage.setItem(key, JSON.stringify({n: hit.n, t: hit.t})); }
    else { hit = JSON.parse(sessionStorage.getItem(key) || "null"); }
  } catch (e) { /* storage off: this page only */ }
  if (!hit || typeof hit.n !== "string") { return; }
  function swap() {
    var els = document.querySelectorAll("[data-callbox-number]");
    for (var j = 0; j < els.length; j++) {
      els[j].textContent = hit.t;
      if (els[j].tagName === "A") { els[j].setAttribute("href", "tel:" + hit.n); }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", swap); }
  else { swap(); }
})();
"""


def display(number: str, country: str) -> str:
    """How a visitor reads the number: national in the box's country, else international."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    home = phonenumbers.region_code_for_number(parsed) == country
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL if home
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def rules(config: Config) -> list[dict[str, str]]:
    out = []
    for campaign in config.campaigns:
        if not campaign.web_source or not campaign.number:
            continue
        source, _, medium = campaign.web_source.partition("/")
        out.append({"s": source, "m": medium, "n": campaign.number,
                    "t": display(campaign.number, config.box.country)})
    return out


def script(config: Config) -> str:
    text = json.dumps(rules(config), ensure_ascii=True, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return SCRIPT % {"rules": text}
