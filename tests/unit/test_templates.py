"""Template sets: locale fallback, the checks ``baton templates validate`` and the functions apply to a set, and
the ``content`` a request may carry instead of a template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.app.render import Renderer
from baton.app.templates import SHIPPED, StaticTemplates, TemplateSet, check, read_directory
from baton.contract import MessageRequested, parse_detail
from baton.core.errors import InvalidRequest


def write_set(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


GOOD = {
    "promo/default/subject.txt": "{{ title }}",
    "promo/default/body.txt": "Body {{ title }}",
    "promo/default/body.html": "<p>{{ title }}</p>",
    "promo/default/sms.txt": "SMS {{ title }}",
    "promo/default/push.txt": "Push {{ title }}",
    "promo/fr/subject.txt": "Titre {{ title }}",
    "promo/fr/body.txt": "Corps {{ title }}",
    "promo/fr-CA/push.txt": "Poussée {{ title }}",
    "promo/samples/one.json": json.dumps({"title": "<Sale>"}),
}


def test_the_shipped_set_passes_its_own_checks() -> None:
    templates = read_directory(SHIPPED)
    assert check(templates) == []
    assert "default" in templates.locales["sale"] and "fr" in templates.locales["sale"]


@pytest.mark.parametrize(
    ("channel", "wanted", "used", "text"),
    [
        ("email", "fr-CA", "fr", "Corps <Sale>"),  # fr-CA has no email forms: fr
        ("push", "fr-CA", "fr-CA", "Poussée <Sale>"),
        ("push", "fr", "default", "Push <Sale>"),  # fr has no push form
        ("email", None, "default", "Body <Sale>"),
        ("sms", "de-DE", "default", "SMS <Sale>"),
    ],
)
def test_the_locale_falls_back_from_region_to_language_to_default(
    tmp_path: Path, channel: str, wanted: str | None, used: str, text: str
) -> None:
    renderer = Renderer(StaticTemplates(write_set(tmp_path, GOOD)))
    rendered = renderer.render("promo", channel, {"title": "<Sale>"}, wanted)
    assert rendered.text == text
    assert rendered.rendered_with.endswith(f"/{used}") and rendered.rendered_with.startswith("dir:")


def test_html_is_autoescaped_and_text_is_not(tmp_path: Path) -> None:
    rendered = Renderer(StaticTemplates(write_set(tmp_path, GOOD))).render("promo", "email", {"title": "<b>"})
    assert rendered.html == "<p>&lt;b&gt;</p>" and rendered.text == "Body <b>"


def test_a_template_not_in_the_set_is_named() -> None:
    with pytest.raises(InvalidRequest) as raised:
        Renderer().render("flash_sale", "email", {})
    assert raised.value.reason == "invalid:template" and "'flash_sale'" in raised.value.message


def test_check_lists_every_problem_with_its_file_and_line() -> None:
    broken = dict(GOOD)
    broken["promo/fr/body.txt"] = "line one\n{% if %}"  # a syntax error on line 2
    broken["promo/fr/subject.txt"] = "two\nlines"
    del broken["promo/default/sms.txt"]
    broken["promo/default/push.txt"] = "{{ missing }}"  # the sample has no 'missing'
    broken["other/fr/subject.txt"] = "no default"
    problems = {(p.field, p.line): p.message for p in check(TemplateSet("t", broken))}
    assert ("promo/fr/body.txt", 2) in problems
    assert problems[("promo/fr/subject.txt", 2)] == "the subject must be one line"
    assert problems[("promo/default/sms.txt", None)] == "missing"
    assert problems[("other/", None)] == "no default/ locale"
    on_sample = [p.message for p in check(TemplateSet("t", broken)) if p.field == "promo/samples/one.json"]
    assert "promo/default/ on push: template 'promo' needs 'missing' is undefined" in on_sample


def test_a_template_without_samples_is_a_problem() -> None:
    files = {k: v for k, v in GOOD.items() if "samples" not in k}
    [problem] = check(TemplateSet("t", files))
    assert problem.field == "promo/samples/"


REQUEST = {"request_id": "r1", "customer_id": "c1", "channel": "email", "category": "sale"}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, "template"),  # neither template nor content
        ({"template": "sale", "content": {"subject": "s", "text": "t"}}, "template"),  # both
        ({"content": {"subject": "s"}}, "content.text"),
        ({"content": {"text": "t"}}, "content.subject"),  # email needs a subject
        ({"content": {"subject": "one\ntwo", "text": "t"}}, "content.subject"),
        ({"content": {"subject": "s", "text": "t", "html": "x" * 9000}}, "content.html"),
        ({"content": {"subject": "s" * 999, "text": "t"}}, "content.subject"),
        ({"channel": "sms", "content": {"text": "t", "html": "<p>"}}, "content.html"),
        ({"channel": "sms", "content": {"text": "x" * 481}}, "content.text"),
        ({"content": {"subject": "s", "text": "t"}, "data": {"a": 1}}, "data"),
    ],
)
def test_bad_content_is_rejected_naming_the_part(extra: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_detail(MessageRequested, {**REQUEST, **extra})
    assert raised.value.field == field


def test_content_for_push_is_text_only() -> None:
    message = parse_detail(MessageRequested, {**REQUEST, "channel": "push", "content": {"text": "Hi"}})
    assert message.content is not None and message.content.text == "Hi" and message.template is None
