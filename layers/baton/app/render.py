"""Templates: rendered in Baton with Jinja2 (HTML autoescaped), so channels receive finished messages.

A template has one file per form in each of its locales (``baton.app.templates``): ``subject.txt``, ``body.txt``
and ``body.html`` for email, ``sms.txt`` for SMS, ``push.txt`` for push. The set comes from a ``TemplateSource``
(the shipped set, a directory, or the template store); a request naming a template the current set lacks, a form
its channel needs, or data the template uses, is rejected with the field named.

The last renders are kept: a request's template is rendered to validate it when it arrives and again, with the
same data, when it is sent in the same invocation.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from baton.app.ports import Rendered
from baton.app.templates import DEFAULT_LOCALE, FORMS, StaticTemplates, TemplateSet, TemplateSource
from baton.contract import SMS_MAX
from baton.core.errors import InvalidRequest

KEPT_RENDERS = 64
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_DATA_KEY = json.JSONEncoder(sort_keys=True, default=str)  # a kept render's data, as its key names it


class Renderer:
    def __init__(self, source: TemplateSource | None = None):
        self.source: TemplateSource = source or StaticTemplates()
        self._envs: dict[str, Any] = {}  # set version -> its Jinja2 environment (the current one, and the last)
        self._renders: OrderedDict[tuple[str, ...], Rendered] = OrderedDict()
        self._lock = threading.Lock()  # local runs (replay, reliability) share one between threads

    def environment(self, templates: TemplateSet) -> Any:
        env = self._envs.get(templates.version)
        if env is not None:
            return env
        import jinja2  # imported on first render, not at cold start

        env = jinja2.Environment(
            loader=jinja2.DictLoader(dict(templates.files)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        with self._lock:
            if len(self._envs) > 1:
                self._envs.clear()
            self._envs[templates.version] = env
        return env

    def render(self, template: str, channel: str, data: Mapping[str, Any], locale: str | None = None) -> Rendered:
        """``template`` for ``channel`` in the customer's ``locale`` (falling back ``fr-CA`` -> ``fr`` ->
        ``default``); the result names the set version and the locale used (``rendered_with``)."""
        templates = self.source.current()
        if template not in templates.locales:
            raise InvalidRequest("template", f"template {template!r} is not in the current set ({templates.version})")
        found = templates.locale_for(template, channel, locale)
        if found is None:
            missing = next(f for f in FORMS[channel] if not templates.has(template, DEFAULT_LOCALE, f))
            raise InvalidRequest("template", f"template {template!r} has no {missing} for channel {channel}")
        return self._kept(templates, template, found, channel, data)

    def render_locale(self, template: str, locale: str, channel: str, data: Mapping[str, Any]) -> Rendered:
        """Exactly this locale of ``template`` (``baton templates validate`` and ``preview --locale``)."""
        templates = self.source.current()
        return self._kept(templates, template, locale, channel, data)

    def _kept(
        self, templates: TemplateSet, template: str, locale: str, channel: str, data: Mapping[str, Any]
    ) -> Rendered:
        key = (templates.version, template, locale, channel, _DATA_KEY.encode(data))
        with self._lock:
            kept = self._renders.get(key)
            if kept is not None:
                self._renders.move_to_end(key)
                return kept
        rendered = self._render(templates, template, locale, channel, data)
        with self._lock:
            self._renders[key] = rendered
            while len(self._renders) > KEPT_RENDERS:
                self._renders.popitem(last=False)
        return rendered

    def _render(
        self, templates: TemplateSet, template: str, locale: str, channel: str, data: Mapping[str, Any]
    ) -> Rendered:
        import jinja2

        env = self.environment(templates)
        base = f"{template}/{locale}"
        used = f"{templates.version}/{locale}"
        try:
            if channel == "email":
                # a subject is one header line: a line break from the data would end the header block early, and
                # other control characters (NUL among them) have no place in a header
                raw = env.get_template(f"{base}/subject.txt").render(data)
                subject = " ".join(_CONTROLS.sub(" ", raw).split())
                text = env.get_template(f"{base}/body.txt").render(data).strip()
                html = None
                if templates.has(template, locale, "body.html"):
                    html = env.get_template(f"{base}/body.html").render(data)
                return _encodable(template, Rendered(subject=subject, text=text, html=html, rendered_with=used))
            text = env.get_template(f"{base}/{FORMS[channel][0]}").render(data).strip()
        except jinja2.UndefinedError as exc:
            raise InvalidRequest("data", f"template {template!r} needs {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise InvalidRequest("template", f"template {template!r} cannot render: {exc}") from None
        if channel == "sms" and len(text) > SMS_MAX:
            raise InvalidRequest("data", f"the SMS renders to {len(text)} characters, more than {SMS_MAX}")
        return _encodable(template, Rendered(subject="", text=text, rendered_with=used))


def _encodable(template: str, rendered: Rendered) -> Rendered:
    """``rendered``, if every part of it can be sent as UTF-8: JSON admits lone surrogates (``"\\udce9"``), which
    no channel can encode, so a request carrying one is refused when it arrives rather than failing at its send."""
    for part in (rendered.subject, rendered.text, rendered.html or ""):
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequest("data", f"template {template!r} renders text that is not valid Unicode") from None
    return rendered
