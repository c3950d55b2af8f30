"""SVG charts: pure builders, escaped text, sensible scales."""

import xml.etree.ElementTree as ET

import pytest

from firmware.webui import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("value, counts, top", [
    (0, False, 1), (0.3, False, 0.5), (3, False, 5), (7, False, 10), (120, False, 200),
    (0, True, 2), (3, True, 4), (5, True, 6), (9, True, 10), (45, True, 60),
])
def test_nice_ceiling(value, counts, top):
    assert charts.nice_ceiling(value, counts=counts) == top


def test_columns_is_valid_svg_with_one_bar_per_value():
    svg = charts.columns([0, 3, 1], ["a", "b", "c"], title="Calls", label_every=2)
    root = ET.fromstring(str(svg))
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 3
    assert [float(b.get("height")) for b in bars][0] == 0
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == pytest.approx(3 * heights[2])
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "a" in labels and "c" in labels and "b" not in labels
    assert root.get("aria-label") == "Calls"


def test_rows_scale_to_the_largest():
    svg = charts.rows([("Shop", 4, "4"), ("Paper", 2, "2")], title="Top", width=400)
    bars = [r for r in ET.fromstring(str(svg)).iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [float(b.get("width")) for b in bars] == [400, 200]


def test_text_is_escaped():
    evil = '<script>alert(1)</script>"&'
    svg = str(charts.rows([(evil, 1, evil)], title=evil)) + \
        str(charts.columns([1], [evil], title=evil))
    assert "<script>" not in svg
    ET.fromstring(str(charts.rows([(evil, 1, evil)], title=evil)))   # still well-formed


def test_long_labels_are_clipped():
    svg = charts.rows([("A very long campaign name " * 5, 1, "1")], title="t", width=300)
    label = next(t for t in ET.fromstring(str(svg)).iter(f"{SVG}text") if t.get("class") == "label")
    assert label.text.endswith("…") and len(label.text) < 60
