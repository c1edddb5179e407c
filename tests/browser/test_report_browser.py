"""The report in a real browser: its script drew every chart (the DOM after it ran has each chart's series, with
visible marks), and the screenshot shows them (many colours, and each series' colour painted over a wide area,
far more than the legend swatches alone paint: the same page without its drawing script is the yardstick)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from baton.local.browser import dump_dom, screenshot

BLUE, ORANGE, GREEN = "#4c78a8", "#f58518", "#54a24b"  # requested, policy A, policy B (documented in report.py)
SINGLE = {
    "per-day": {"requested": BLUE, "sent-a": ORANGE},
    "distribution": {"requested": BLUE, "sent-a": ORANGE},
    "outcomes": {"outcomes-a": ORANGE},
    "timeline": {"requested": BLUE, "sent-a": ORANGE},
}
COMPARE = {
    "per-day": {"requested": BLUE, "sent-a": ORANGE, "sent-b": GREEN},
    "distribution": {"requested": BLUE, "sent-a": ORANGE, "sent-b": GREEN},
    "outcomes": {"outcomes-a": ORANGE, "outcomes-b": GREEN},
    "timeline": {"requested": BLUE, "sent-a": ORANGE, "sent-b": GREEN},
}
MIN_PIXELS = 1500  # of a series' colour, beyond what the page shows without its charts


@dataclass
class Series:
    key: str
    fill: str
    marks: int = 0
    visible: int = 0  # marks with a width and a height


@dataclass
class Chart:
    drawn: bool
    error: str | None
    series: list[Series] = field(default_factory=list)


class Charts(HTMLParser):
    """Each ``figure.chart`` of a DOM dump, with its drawn ``g.series`` and their marks."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.charts: dict[str, Chart] = {}
        self.body: dict[str, str | None] = {}
        self._chart: Chart | None = None
        self._series: Series | None = None
        self._groups: list[bool] = []  # open <g>: is it a series
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "figure" and a.get("data-chart"):
            self._chart = Chart(a.get("data-drawn") == "true", a.get("data-error"))
            self.charts[str(a["data-chart"])] = self._chart
        elif tag == "g":
            is_series = "series" in (a.get("class") or "").split()
            self._groups.append(is_series)
            if is_series and self._chart is not None:
                self._series = Series(str(a.get("data-series")), str(a.get("fill")))
                self._chart.series.append(self._series)
        elif tag == "rect" and self._series is not None:
            self._series.marks += 1
            if float(a.get("width") or 0) > 0 and float(a.get("height") or 0) > 0:
                self._series.visible += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "g" and self._groups and self._groups.pop():
            self._series = None
        elif tag == "figure":
            self._chart = None


def rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def colours(png: Path) -> dict[tuple[int, int, int], int]:
    with Image.open(png) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert found is not None
    return {colour: count for count, colour in found}


def without_charts(page: Path, folder: Path) -> Path:
    """The same page without its drawing script: the legend swatches and borders, no chart."""
    text = page.read_text("utf-8")
    stripped = re.sub(r"<script>\s*\(function \(\).*?</script>", "", text, flags=re.DOTALL)
    assert stripped != text
    bare = folder / f"bare-{page.name}"
    bare.write_text(stripped, "utf-8")
    return bare


def check_dom(page: Path, expected: dict[str, dict[str, str]]) -> None:
    parsed = Charts(dump_dom(page))
    assert parsed.body.get("data-charts-drawn") == str(len(expected))
    assert set(parsed.charts) == set(expected)
    for name, series in expected.items():
        chart = parsed.charts[name]
        assert chart.error is None, f"{name}: {chart.error}"
        assert chart.drawn, name
        assert [(s.key, s.fill) for s in chart.series] == list(series.items()), name
        for each in chart.series:
            assert each.visible > 0, f"{name}/{each.key} drew no visible mark ({each.marks} marks)"


def check_pixels(page: Path, folder: Path, series_colours: Sequence[str]) -> None:
    shot = colours(screenshot(page, folder / f"{page.stem}.png", width=1200, height=1400))
    bare = colours(screenshot(without_charts(page, folder), folder / f"bare-{page.stem}.png", 1200, 1400))
    total = sum(shot.values())
    assert total == 1200 * 1400
    assert len(shot) > 200, "the screenshot has too few colours: a blank or unstyled page"
    assert max(shot.values()) < 0.9 * total, "one colour covers nine tenths of the screenshot"
    for colour in series_colours:
        drawn = shot.get(rgb(colour), 0) - bare.get(rgb(colour), 0)
        assert drawn >= MIN_PIXELS, f"{colour}: {drawn} pixels more than without charts"


def test_the_demo_day_report_draws_every_chart(browser: str, demo_report: Path) -> None:
    check_dom(demo_report, SINGLE)


def test_the_demo_day_screenshot_shows_the_charts(browser: str, demo_report: Path, tmp_path: Path) -> None:
    check_pixels(demo_report, tmp_path, [BLUE, ORANGE])


def test_the_compare_report_draws_three_series_a_chart(browser: str, compare_report: Path) -> None:
    check_dom(compare_report, COMPARE)


def test_the_compare_screenshot_shows_both_policies(browser: str, compare_report: Path, tmp_path: Path) -> None:
    check_pixels(compare_report, tmp_path, [BLUE, ORANGE, GREEN])


def test_the_yardstick_has_no_charts(browser: str, demo_report: Path, tmp_path: Path) -> None:
    """Without its drawing script the page has no series at all: what the checks above would catch."""
    bare = Charts(dump_dom(without_charts(demo_report, tmp_path)))
    assert set(bare.charts) == set(SINGLE)
    assert all(not chart.drawn and not chart.series for chart in bare.charts.values())
