"""Templates: rendered in Baton with Jinja2 (HTML autoescaped), so channels receive finished messages.

A template is a folder under ``templates/`` with one file per form: ``subject.txt``, ``body.txt`` and
``body.html`` for email, ``sms.txt`` for SMS, ``push.txt`` for push. A request naming a template without the
form for its channel, or without data the template uses, is rejected with the field named.

Templates ship with the code and don't change while it runs, so which forms a template has is looked up once,
and the last renders are kept: a request's template is rendered to validate it when it arrives and again, with
the same data, when it is sent in the same invocation.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from baton.app.ports import Rendered
from baton.core.errors import InvalidRequest

TEMPLATES = Path(__file__).parents[1] / "templates"  # baton/templates
FORMS = {"email": ("subject.txt", "body.txt"), "sms": ("sms.txt",), "push": ("push.txt",)}
SMS_MAX = 480  # three segments
KEPT_RENDERS = 64
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


class Renderer:
    def __init__(self, root: Path = TEMPLATES):
        self._root = root
        self._forms: set[tuple[str, str]] = set()
        self._renders: OrderedDict[tuple[str, str, str], Rendered] = OrderedDict()
        self._lock = threading.Lock()  # local runs (replay, reliability) share one between threads

    @cached_property
    def _env(self) -> Any:
        import jinja2  # imported on first render, not at cold start

        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self._root)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )

    @cached_property
    def _resolved_root(self) -> Path:
        return self._root.resolve()

    def _exists(self, template: str, form: str) -> bool:
        if (template, form) in self._forms:
            return True
        path = (self._root / template / form).resolve()
        found = path.is_file() and self._resolved_root in path.parents
        if found:  # only forms that exist: a request may name anything
            self._forms.add((template, form))
        return found

    def render(self, template: str, channel: str, data: Mapping[str, Any]) -> Rendered:
        key = (template, channel, json.dumps(data, sort_keys=True, default=str))
        with self._lock:
            kept = self._renders.get(key)
            if kept is not None:
                self._renders.move_to_end(key)
                return kept
        rendered = self._render(template, channel, data)
        with self._lock:
            self._renders[key] = rendered
            while len(self._renders) > KEPT_RENDERS:
                self._renders.popitem(last=False)
        return rendered

    def _render(self, template: str, channel: str, data: Mapping[str, Any]) -> Rendered:
        import jinja2

        for form in FORMS[channel]:
            if not self._exists(template, form):
                raise InvalidRequest("template", f"template {template!r} has no {form} for channel {channel}")
        try:
            if channel == "email":
                # a subject is one header line: a line break from the data would end the header block early, and
                # other control characters (NUL among them) have no place in a header
                raw = self._env.get_template(f"{template}/subject.txt").render(data)
                subject = " ".join(_CONTROLS.sub(" ", raw).split())
                text = self._env.get_template(f"{template}/body.txt").render(data).strip()
                html = None
                if self._exists(template, "body.html"):
                    html = self._env.get_template(f"{template}/body.html").render(data)
                return _encodable(template, Rendered(subject=subject, text=text, html=html))
            text = self._env.get_template(f"{template}/{FORMS[channel][0]}").render(data).strip()
        except jinja2.UndefinedError as exc:
            raise InvalidRequest("data", f"template {template!r} needs {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise InvalidRequest("template", f"template {template!r} cannot render: {exc}") from None
        if channel == "sms" and len(text) > SMS_MAX:
            raise InvalidRequest("data", f"the SMS renders to {len(text)} characters, more than {SMS_MAX}")
        return _encodable(template, Rendered(subject="", text=text))


def _encodable(template: str, rendered: Rendered) -> Rendered:
    """``rendered``, if every part of it can be sent as UTF-8: JSON admits lone surrogates (``"\\udce9"``), which
    no channel can encode, so a request carrying one is refused when it arrives rather than failing at its send."""
    for part in (rendered.subject, rendered.text, rendered.html or ""):
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest("data", f"template {template!r} renders text that is not valid Unicode") from None
    return rendered
