"""Template sets: every template's files, by name and locale, as one value with a version.

A set's files are keyed ``<name>/<locale>/<form>`` (``sale/fr/subject.txt``), with sample data at
``<name>/samples/<sample>.json``; ``default`` is the locale every template must have. A set comes from a directory
(the shipped set in the layer, ``--templates DIR`` locally) or from the template store
(``baton.adapters.template_store``), and is checked the same way wherever it comes from (``check``): a set with a
problem is never used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from baton.core.errors import Problem

SHIPPED = Path(__file__).parents[1] / "templates"  # baton/templates: the default set
DEFAULT_LOCALE = "default"
FORMS = {"email": ("subject.txt", "body.txt"), "sms": ("sms.txt",), "push": ("push.txt",)}
ALL_FORMS = ("subject.txt", "body.txt", "body.html", "sms.txt", "push.txt")
SAMPLES = "samples"
MAX_FILE_BYTES = 65536


@dataclass(frozen=True)
class TemplateSet:
    """Every file of a template set (path -> text) and the set's ``version``."""

    version: str
    files: Mapping[str, str]

    @cached_property
    def locales(self) -> dict[str, frozenset[str]]:
        """Template name -> its locales."""
        out: dict[str, set[str]] = {}
        for path in self.files:
            name, _, rest = path.rpartition("/")[0].rpartition("/")
            if name and rest != SAMPLES:
                out.setdefault(name, set()).add(rest)
        return {name: frozenset(found) for name, found in out.items()}

    def has(self, name: str, locale: str, form: str) -> bool:
        return f"{name}/{locale}/{form}" in self.files

    @cached_property
    def _locales_chosen(self) -> dict[tuple[str, str, str | None], str | None]:
        """``locale_for``'s answers so far (the files never change)."""
        return {}

    def locale_for(self, name: str, channel: str, wanted: str | None) -> str | None:
        """The locale of ``name`` to render for a customer who wants ``wanted`` (``fr-CA`` -> ``fr`` -> ``default``):
        the first that has every form the channel needs; None if even ``default`` lacks one."""
        key = (name, channel, wanted)
        chosen = self._locales_chosen
        if key not in chosen:
            chosen[key] = self._locale_for(name, channel, wanted)
        return chosen[key]

    def _locale_for(self, name: str, channel: str, wanted: str | None) -> str | None:
        candidates = []
        if wanted:
            candidates += [wanted, wanted.split("-", 1)[0]]
        candidates.append(DEFAULT_LOCALE)
        for locale in dict.fromkeys(candidates):
            if all(self.has(name, locale, form) for form in FORMS[channel]):
                return locale
        return None

    def samples(self, name: str) -> Iterator[tuple[str, str]]:
        prefix = f"{name}/{SAMPLES}/"
        for path in sorted(self.files):
            if path.startswith(prefix) and path.endswith(".json"):
                yield path, self.files[path]


def content_version(files: Mapping[str, str]) -> str:
    """A version naming exactly these files: the first 12 hex digits of a hash of every path and text."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()[:12]


def read_directory(root: Path) -> TemplateSet:
    """The set in a directory laid out ``<name>/<locale>/<form>`` and ``<name>/samples/*.json``; files that are not
    template forms or samples are left out. Its version is its content hash, ``dir:<hash>``."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        parent = key.rpartition("/")[0]
        if path.name in ALL_FORMS or (parent.endswith(f"/{SAMPLES}") and path.suffix == ".json"):
            files[key] = path.read_text(encoding="utf-8")
    return TemplateSet(version=f"dir:{content_version(files)}", files=files)


class TemplateSource(Protocol):
    def current(self) -> TemplateSet: ...


class StaticTemplates:
    """A set that does not change while it runs: the shipped set, or a directory (local runs, tests)."""

    def __init__(self, root: Path = SHIPPED):
        self._root = root

    @cached_property
    def _set(self) -> TemplateSet:
        return read_directory(self._root)

    def current(self) -> TemplateSet:
        return self._set


def check(templates: TemplateSet) -> list[Problem]:
    """Every problem of a set, each naming its file (``field``) and line: a template without ``default``, a
    ``default`` without every channel's forms (any category may be sent on any channel), a subject of more than one
    line, a file that is not valid Jinja2 or a sample that does not render, a sample that is not a JSON object."""
    from baton.app.render import Renderer

    problems: list[Problem] = []
    renderer = Renderer(_Fixed(templates))
    for path, text in sorted(templates.files.items()):
        if len(text.encode()) > MAX_FILE_BYTES:
            problems.append(Problem(path, f"more than {MAX_FILE_BYTES} bytes"))
        if path.endswith("/subject.txt") and len(text.strip("\n").splitlines()) > 1:
            problems.append(Problem(path, "the subject must be one line", 2))
        problems += _syntax(renderer, path, text)
    for name, locales in sorted(templates.locales.items()):
        if DEFAULT_LOCALE not in locales:
            problems.append(Problem(f"{name}/", f"no {DEFAULT_LOCALE}/ locale"))
            continue
        for form in ALL_FORMS:
            if form != "body.html" and not templates.has(name, DEFAULT_LOCALE, form):
                problems.append(Problem(f"{name}/{DEFAULT_LOCALE}/{form}", "missing"))
        problems += _samples(renderer, templates, name, locales)
    return problems


class _Fixed:
    def __init__(self, templates: TemplateSet):
        self._templates = templates

    def current(self) -> TemplateSet:
        return self._templates


def _syntax(renderer: Any, path: str, text: str) -> list[Problem]:
    if not path.endswith((".txt", ".html")):
        return []
    import jinja2

    try:
        renderer.environment(renderer.source.current()).parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(path, exc.message or "syntax error", exc.lineno)]
    return []


def _samples(renderer: Any, templates: TemplateSet, name: str, locales: frozenset[str]) -> list[Problem]:
    """Render every locale of ``name`` with each of its samples, on every channel the locale has forms for."""
    from baton.core.errors import InvalidRequest

    problems: list[Problem] = []
    samples = list(templates.samples(name))
    if not samples:
        problems.append(Problem(f"{name}/{SAMPLES}/", "no sample data (*.json): nothing proves the template renders"))
    for path, text in samples:
        try:
            data = json.loads(text)
        except ValueError as exc:
            problems.append(Problem(path, f"not valid JSON: {exc}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(path, "must be a JSON object"))
            continue
        for locale in sorted(locales):
            for channel, forms in FORMS.items():
                if not all(templates.has(name, locale, form) for form in forms):
                    continue
                try:
                    renderer.render_locale(name, locale, channel, data)
                except InvalidRequest as exc:
                    problems.append(Problem(path, f"{name}/{locale}/ on {channel}: {exc.message}"))
    return problems
