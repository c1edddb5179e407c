"""Baton's HTTP endpoints, on Lambda function URLs with the powertools event handler.

- Unsubscribe (public: mail clients and mailbox providers call it): ``GET /unsubscribe?token=...`` shows a
  confirmation page with a button and changes nothing (mail scanners prefetch links); ``POST`` (RFC 8058
  one-click, body ``List-Unsubscribe=One-Click``, or the button) unsubscribes at once. A forged, altered,
  truncated or expired token changes nothing: 400, 403 or 410 with a plain message.
- Preferences (IAM-authorised function URL, for the storefront's own preference centre):
  ``GET /customers/{id}/preferences`` and ``PUT`` with a JSON body (the CustomerUpdated fields except the id),
  validated by the contract models and audited with the caller's IAM identity.
- Decision preview (IAM-authorised function URL, for operators and support tools): ``POST /preview`` with a
  MessageRequested detail answers whether it would be sent now, which rule stops it, at what counts and when it
  would fit (``baton.app.preview``); nothing is recorded or sent. A request Baton would reject: 400 naming the field.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types

from baton.app.keys import SigningKeys
from baton.app.ports import Ledger, PolicySource
from baton.app.unsubscribe import TokenError, verify
from baton.contract import CustomerUpdated, parse_detail
from baton.core.clock import Clock
from baton.core.domain import Profile
from baton.core.errors import InvalidRequest

if TYPE_CHECKING:  # the preview renders; the unsubscribe and preference functions, which share this module, do not
    from baton.app.render import Renderer

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>{title}</h1>{body}</body></html>"""


def _page(status: int, title: str, body: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.TEXT_HTML,
        body=PAGE.format(title=html.escape(title), body=body),
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
    )


CUSTOMER_ID = re.compile(r"[^\s#]{1,128}")  # the contract's Identifier: no customer has any other id


def valid_customer_id(customer_id: str) -> bool:
    return CUSTOMER_ID.fullmatch(customer_id) is not None


def _describe(scope: str) -> str:
    kind, _, name = scope.partition(":")
    return f"all {name} messages" if kind == "channel" else f"{name.replace('_', ' ')} messages"


def unsubscribe_app(ledger: Callable[[], Ledger], signing_keys: Callable[[], SigningKeys], clock: Clock) -> Any:
    app = LambdaFunctionUrlResolver()

    def claim() -> Any:
        token = (app.current_event.query_string_parameters or {}).get("token", "")
        return verify(token, signing_keys(), clock.now())

    @app.get("/unsubscribe")
    def confirm() -> Response[str]:
        try:
            found = claim()
        except TokenError as exc:
            return _page(exc.status, "This link does not work", f"<p>{html.escape(exc.message)}.</p>")
        token = html.escape((app.current_event.query_string_parameters or {}).get("token", ""), quote=True)
        return _page(
            200,
            "Unsubscribe?",
            f"<p>Stop receiving {html.escape(_describe(found.scope))}?</p>"
            f'<form method="post" action="?token={token}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>',
        )

    @app.post("/unsubscribe")
    def unsubscribe() -> Response[str]:
        try:
            found = claim()
        except TokenError as exc:
            return _page(exc.status, "This link does not work", f"<p>{html.escape(exc.message)}.</p>")
        applied = ledger().unsubscribe(found.customer_id, found.scope, clock.now(), actor="one-click")
        if not applied:
            return _page(404, "Nothing to unsubscribe", "<p>We hold no messages for you.</p>")
        return _page(
            200, "You are unsubscribed", f"<p>You will receive no more {html.escape(_describe(found.scope))}.</p>"
        )

    return app


def _profile_json(customer_id: str, profile: Profile, addresses: dict[str, bool]) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "timezone": profile.timezone,
        "locale": profile.locale,
        "consent": dict(profile.consent),
        "addresses": addresses,
        "preferences": {
            "opted_out_categories": sorted(profile.opted_out_categories),
            "frequency": [
                {"channel": lim.channel, "limit": lim.limit, "window_days": lim.window.days} for lim in profile.limits
            ],
            "quiet_hours": {ch: {"start": w.start, "end": w.end} for ch, w in profile.quiet_hours.items()},
        },
    }


def preferences_app(ledger: Callable[[], Ledger], clock: Clock) -> Any:
    app = LambdaFunctionUrlResolver()

    def caller() -> str | None:
        """The IAM identity Lambda verified (an AWS_IAM function URL is invoked with one, and only with one)."""
        context = app.current_event.raw_event.get("requestContext")
        authorizer = context.get("authorizer") if isinstance(context, dict) else None
        iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
        found = (iam.get("userArn") or iam.get("callerId")) if isinstance(iam, dict) else None
        return str(found) if found else None

    error = _json_error
    unsigned = "only a SigV4-signed caller (AWS_IAM) may read or change preferences"

    @app.get("/customers/<customer_id>/preferences")
    def read(customer_id: str) -> Response[str]:
        if caller() is None:
            return error(403, "authorization", unsigned)
        if not valid_customer_id(customer_id):
            return error(404, "customer_id", "no such customer")
        snapshot = ledger().load(customer_id, None, None, consistent=True)
        if snapshot.ledger.version == 0:
            return error(404, "customer_id", f"no customer {customer_id}")
        body = _profile_json(customer_id, snapshot.ledger.profile, {ch: True for ch in snapshot.addresses})
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))

    @app.put("/customers/<customer_id>/preferences")
    def update(customer_id: str) -> Response[str]:
        actor = caller()
        if actor is None:
            return error(403, "authorization", unsigned)
        try:
            body = json.loads(app.current_event.decoded_body or "null")
        except ValueError:
            return error(400, "body", "body must be JSON")
        if not isinstance(body, dict):
            return error(400, "body", "body must be a JSON object")
        if "customer_id" in body and body["customer_id"] != customer_id:
            return error(400, "customer_id", "customer_id in the body differs from the path")
        try:
            changed: CustomerUpdated = parse_detail(CustomerUpdated, {**body, "customer_id": customer_id})
        except InvalidRequest as exc:
            return error(400, exc.field, exc.message)
        ledger().update_profile(changed, clock.now(), actor=actor)
        return read(customer_id)

    return app


def _json_error(status: int, field: str, message: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": message, "field": field}),
    )


def preview_app(parts: Callable[[], tuple[Ledger, PolicySource, Renderer, bytes | None]], clock: Clock) -> Any:
    app = LambdaFunctionUrlResolver()

    @app.post("/preview")
    def decide() -> Response[str]:
        from baton.app.preview import preview

        try:
            detail = json.loads(app.current_event.decoded_body or "null")
        except ValueError:
            return _json_error(400, "body", "body must be JSON: a MessageRequested detail")
        if not isinstance(detail, dict):
            return _json_error(400, "body", "body must be a JSON object: a MessageRequested detail")
        ledger, policies, renderer, holdout_key = parts()
        try:
            result = preview(ledger, policies.current(), detail, clock.now(), renderer, holdout_key=holdout_key)
        except InvalidRequest as exc:
            return _json_error(400, exc.field, exc.message)
        return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(result.as_json()))

    return app
