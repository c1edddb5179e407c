"""The renderer keeps its last renders: what it hands back must always be the render of the data it was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.app.render import KEPT_RENDERS, Renderer
from baton.app.templates import StaticTemplates
from baton.core.errors import InvalidRequest

SALE = {"headline": "Winter sale", "url": "https://shop.example/sale"}


def test_a_kept_render_is_the_render_of_the_same_data_only() -> None:
    renderer = Renderer()
    first = renderer.render("sale", "email", SALE)
    assert renderer.render("sale", "email", dict(reversed(SALE.items()))) is first  # kept: same data, any order
    other = renderer.render("sale", "email", {**SALE, "headline": "Spring sale"})
    assert (first.subject, other.subject) == ("Winter sale", "Spring sale")
    assert renderer.render("sale", "push", SALE).subject == ""  # another channel is another render


def test_a_failed_render_is_not_kept(tmp_path: Path) -> None:
    (tmp_path / "note" / "default").mkdir(parents=True)
    (tmp_path / "note" / "default" / "push.txt").write_text("{{ product }}")
    renderer = Renderer(StaticTemplates(tmp_path))
    with pytest.raises(InvalidRequest) as missing:
        renderer.render("note", "push", {})
    assert missing.value.field == "data"
    assert renderer.render("note", "push", {"product": "Boots"}).text == "Boots"
    with pytest.raises(InvalidRequest):
        renderer.render("note", "push", {})


def test_the_least_recently_used_render_is_dropped_beyond_the_limit() -> None:
    renderer = Renderer()
    oldest = renderer.render("sale", "push", {**SALE, "headline": "Sale 0"})
    used = renderer.render("sale", "push", {**SALE, "headline": "Sale 1"})
    for n in range(2, KEPT_RENDERS + 1):
        renderer.render("sale", "push", {**SALE, "headline": f"Sale {n}"})
        assert renderer.render("sale", "push", {**SALE, "headline": "Sale 1"}) is used  # used: kept
    again = renderer.render("sale", "push", {**SALE, "headline": "Sale 0"})
    assert again == oldest and again is not oldest  # dropped, so rendered anew


def test_a_subject_is_one_line_whatever_the_data() -> None:
    """A line break in the data would end the header block early (what follows the Subject would be read as
    the body): every run of white space in a subject, line breaks of any kind among them, is one space."""
    for name in ("Wolle\nRot", "Wolle\r\nBcc: x@example.com", "Wolle\x1cRot", "Wolle \t\v Rot", "Wolle \x00\x85Rot"):
        subject = Renderer().render("sale", "email", {**SALE, "headline": name}).subject
        assert subject.splitlines() == [subject] and "  " not in subject, repr(subject)
        assert subject.startswith("Wolle ")


def test_text_that_is_not_valid_unicode_is_refused_when_it_arrives() -> None:
    """JSON admits a lone surrogate, which no channel can encode: refused at intake, naming the data."""
    for channel in ("email", "push"):
        with pytest.raises(InvalidRequest) as bad:
            Renderer().render("sale", channel, {**SALE, "headline": "Caf\udce9"})
        assert bad.value.field == "data" and "not valid Unicode" in bad.value.message
