"""The dashboard (issue 15): the village-by-month heat cells are readable, their text
coloured for contrast with the cell it sits on, never the link blue on dark red; the
monthly chart's axis labels never overlap, on a phone or on a desk; the page fits a
phone without sideways scrolling.

The browser checks drive Debian's chromium through Playwright against pytest-django's
live server (skipped where chromium is not installed, failed under CI)."""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pytest
from django.urls import reverse

from desk.dashboard import contrast, luminance
from tests.conftest import build_cast, local, report

CHROMIUM = "/usr/bin/chromium"
DASHBOARD = "desk:dashboard:index"
# WCAG 2 AA for normal text.
READABLE = 4.5


def test_the_contrast_is_wcags() -> None:
    # The figures WCAG 2 gives, so the page's own formula can judge the page.
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast((200, 30, 30), (200, 30, 30)) == pytest.approx(1)
    assert contrast((0x77, 0x77, 0x77), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def rgb(text: str) -> tuple[float, float, float]:
    """`rgb(r, g, b)`, `rgba(r, g, b, 1)` or `#rrggbb` as numbers."""
    if text.startswith("#"):
        return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    values = [float(v) for v in re.findall(r"[\d.]+", text)]
    assert len(values) == 3 or values[3] == 1, f"not an opaque colour: {text}"
    return tuple(values[:3])  # type: ignore[return-value]


def busy_township(cast: Any) -> None:
    """Cases in 柳林镇's villages over the six months to November 2026: one month in 东湾村
    busy (the darkest cell), the others light, so cells of every shade are drawn."""
    for month, dongwan, xiling in ((6, 1, 0), (7, 2, 1), (8, 3, 0), (9, 5, 2), (10, 9, 4), (11, 1, 7)):
        for i in range(dongwan):
            report(cast, title=f"东湾{month}-{i}", at=local(2026, month, 1 + i, 9, 0))
        for i in range(xiling):
            report(cast, actor=cast.bob, village=cast.xiling.pk, title=f"西岭{month}-{i}",
                   at=local(2026, month, 1 + i, 10, 0))


def text_colour(style: str) -> str:
    return re.search(r"(?:^|;)\s*color:\s*([^;]+)", style).group(1).strip()


def heat_cells(html: str) -> list[tuple[str, str]]:
    """(the cell's style, its content) of every cell of the heat table."""
    table = re.search(r'<table class="heat.*?</table>', html, flags=re.S)
    assert table
    return re.findall(r'<td class="cell[^"]*" style="([^"]*)"[^>]*>(.*?)</td>', table.group(0), flags=re.S)


@pytest.mark.django_db
def test_heat_cells_colour_their_text_for_contrast_with_their_background(cast: Any, client: Any,
                                                                          time_machine: Any) -> None:
    time_machine.move_to(local(2026, 12, 10, 10, 0))
    busy_township(cast)
    client.force_login(cast.olga)
    html = client.get(reverse(DASHBOARD), {"unit": cast.liulin.pk, "period": "2026-11"}).content.decode()
    cells = heat_cells(html)
    assert len(cells) == 2 * 6  # two villages, six months
    texts = set()
    for style, content in cells:
        background = re.search(r"background(?:-color)?:\s*([^;]+)", style).group(1).strip()
        colour = text_colour(style)
        texts.add(colour)
        assert contrast(rgb(background), rgb(colour)) >= READABLE, (style, content)
    # The busiest cell (9 in October) is dark with light text; an empty one light with dark.
    darkest = next(style for style, content in cells if re.search(r">\s*9\s*<", content))
    empty = next(style for style, content in cells if re.search(r">\s*0\s*<", content))
    assert luminance(rgb(text_colour(darkest))) > 0.5 > luminance(rgb(text_colour(empty)))
    assert len(texts) == 2


# --- in the browser ------------------------------------------------------------------------


def require_chromium() -> None:
    """Skip without the browser (`make browser` installs it); under CI, fail."""
    if os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {CHROMIUM} is not installed")
    pytest.skip(f"{CHROMIUM} is not installed; `make browser` installs it")


# Phones 360 and 390 px wide, and a desk.
SCREENS = [(360, 740, True), (390, 844, True), (1366, 768, False)]
# How wide the page is, and the screen: no sideways scrolling means the first no more than
# the second, and the second the screen's width (a phone's browser would widen its layout
# viewport to a page too wide, innerWidth with it).
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def in_browser(url: str, session: str, scripts: dict[str, str], ready: str = "() => true") -> dict[int, dict[str, Any]]:
    """Open `url` with the session cookie `session` on each of SCREENS (zh-CN, Beijing
    time) and evaluate `scripts` once `ready` holds: screen width → name → result. No
    database work may follow in the calling thread until it returns: the browser's event
    loop runs in it."""
    from playwright.sync_api import sync_playwright

    seen: dict[int, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, height, phone in SCREENS:
                context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone,
                                              has_touch=phone, locale="zh-CN", timezone_id="Asia/Shanghai")
                context.add_cookies([{"name": "sessionid", "value": session, "url": url}])
                page = context.new_page()
                page.goto(url)
                page.wait_for_function(ready)
                page.wait_for_timeout(300)  # the first frame of what the scripts drew
                seen[width] = {name: page.evaluate(script) for name, script in scripts.items()}
                context.close()
        finally:
            browser.close()
    return seen


# Each visible label of the month axis as the chart drew it: the four corners of its box
# on the page (turned with the label when the axis labels are rotated).
LABEL_BOXES = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("chart-months"));
  const plot = chart.getModel().getComponent("grid", 0).coordinateSystem.getRect();
  return chart.getZr().storage.getDisplayList(true)
    .filter(el => el.style && typeof el.style.text === "string" && !el.ignore && !el.invisible)
    .map(el => {
      const r = el.getBoundingRect(), m = el.getComputedTransform() || [1, 0, 0, 1, 0, 0];
      const corners = [[r.x, r.y], [r.x + r.width, r.y], [r.x + r.width, r.y + r.height], [r.x, r.y + r.height]];
      return [el.style.text, corners.map(([x, y]) => [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]])];
    })
    // The month axis's labels: under the plot.
    .filter(([text, corners]) => Math.min(...corners.map(c => c[1])) >= plot.y + plot.height);
}"""

# Each chart drawn no wider than its box (a chart drawn before the menu drawer opened ran
# 85 px past its card, which scrolled sideways).
CHARTS_FIT = """() => Array.from(document.querySelectorAll(".chart")).map(box => [box.id,
  box.firstElementChild.getBoundingClientRect().right <= box.getBoundingClientRect().right + 1])"""

HEAT_COLOURS = """() => Array.from(document.querySelectorAll("table.heat td.cell")).map(td => {
  const text = td.querySelector("a, span") || td;
  return [td.textContent.trim(), getComputedStyle(td).backgroundColor, getComputedStyle(text).color];
})"""


# Labels closer than this read as one: "never overlap" means a clear gap.
GAP = 3.0


def separated(a: list[list[float]], b: list[list[float]], gap: float = GAP) -> bool:
    """Whether two convex boxes (corners in order) stand at least `gap` pixels apart
    along some edge's normal (the separating axis theorem)."""
    for box in (a, b):
        for (x1, y1), (x2, y2) in zip(box, box[1:] + box[:1], strict=True):
            length = math.hypot(x2 - x1, y2 - y1)
            if not length:
                continue
            nx, ny = (y2 - y1) / length, (x1 - x2) / length
            pa = [nx * x + ny * y for x, y in a]
            pb = [nx * x + ny * y for x, y in b]
            if max(pa) + gap <= min(pb) or max(pb) + gap <= min(pa):
                return True
    return False


def overlapping(labels: list[list[Any]]) -> list[tuple[str, str]]:
    return [(a, b) for i, (a, box_a) in enumerate(labels) for b, box_b in labels[i + 1:] if not separated(box_a, box_b)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_browser_month_labels_do_not_overlap_cells_are_readable_and_the_page_fits(
        live_server: Any, client: Any, time_machine: Any) -> None:
    require_chromium()
    time_machine.move_to(local(2026, 12, 10, 10, 0))
    cast = build_cast()
    busy_township(cast)
    client.force_login(cast.olga)
    url = f"{live_server.url}{reverse(DASHBOARD)}?unit={cast.liulin.pk}&period=2026-11"
    seen = in_browser(url, client.cookies["sessionid"].value,
                      {"labels": LABEL_BOXES, "cells": HEAT_COLOURS, "widths": WIDTHS, "charts": CHARTS_FIT},
                      ready="() => window.echarts && echarts.getInstanceByDom(document.getElementById('chart-months'))")
    for width, _height, phone in SCREENS:
        boxes, cells, (scroll_width, inner_width) = seen[width]["labels"], seen[width]["cells"], seen[width]["widths"]
        # Enough labels to read the axis by, none over another.
        assert len(boxes) >= (3 if phone else 6), (width, boxes)
        assert not overlapping(boxes), (width, overlapping(boxes))
        assert len(cells) == 12
        for text, background, colour in cells:
            assert contrast(rgb(background), rgb(colour)) >= READABLE, (width, text, background, colour)
        assert scroll_width <= width and inner_width == width, (width, scroll_width, inner_width)
        assert all(fits for _chart, fits in seen[width]["charts"]), (width, seen[width]["charts"])
