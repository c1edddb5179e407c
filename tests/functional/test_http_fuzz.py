"""The two HTTP endpoints under hypothesis-generated requests (any method, path, query string, headers and body,
as Lambda function URL events), through the real handlers on moto: never a 5xx, never a change without a valid
token (unsubscribe) or an IAM caller (preferences), never the customer's address or phone number in a response or
a log line."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from baton.app.keys import LOCAL_SIGNING_KEYS
from baton.app.unsubscribe import Claim, sign
from baton.entry.api import preferences_app, unsubscribe_app
from baton.local.runtime import LocalContext, LocalRuntime
from baton.names import TABLE_NAME
from tests.functional.conftest import Lines

CUSTOMER = "shopper-fz"
EMAIL = "fuzzy.sam@example.com"
PHONE = "+13125550177"
CALLER = "arn:aws:iam::123456789012:role/preference-centre"
SECRETS = (EMAIL, EMAIL.split("@")[0], PHONE, PHONE.lstrip("+"))
FUZZ = settings(
    max_examples=100,
    deadline=None,
    # the runtime and the captured output are set up once; each example checks its own request against them
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # what a URL's UTF-8 can carry
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    st.text(st.characters(min_codepoint=65, max_codepoint=90), min_size=1, max_size=8),
)
headers = st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20), text, max_size=5)
OPT_OUT = json.dumps({"consent": {"email": False}, "preferences": {"opted_out_categories": ["sale"]}})
OWN_PATH = f"/customers/{CUSTOMER}/preferences"
bodies = st.one_of(
    st.none(),
    text,
    st.just("List-Unsubscribe=One-Click"),
    st.dictionaries(text, st.one_of(text, st.integers(), st.booleans(), st.none()), max_size=4).map(json.dumps),
    st.just(OPT_OUT),
)


def event(method: str, path: str, query: dict[str, str], head: dict[str, str], body: str | None, encoded: bool,
          caller: str | None) -> dict[str, Any]:  # fmt: skip
    """A function URL request (payload 2.0), the body base64-encoded when ``encoded`` (as Lambda sends binary)."""
    context: dict[str, Any] = {
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "z"},
        "requestId": "fuzz",
        "routeKey": "$default",
        "stage": "$default",
        "timeEpoch": 0,
    }
    if caller:
        context["authorizer"] = {"iam": {"userArn": caller, "callerId": caller, "accountId": "123456789012"}}
    if encoded and body is not None:
        body = base64.b64encode(body.encode()).decode()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": head,
        "queryStringParameters": query or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


@pytest.fixture
def shop(runtime_now: LocalRuntime, logged: Lines) -> Iterator[LocalRuntime]:
    """A customer with an email address and a phone number, and a marketing email sent to them (which logs, so the
    capture is seen to work)."""
    runtime = runtime_now
    detail = {"customer_id": CUSTOMER, "email": EMAIL, "phone": PHONE, "consent": {"email": True, "sms": True}}
    now = runtime.clock.now().isoformat()
    envelope = {"id": "e1", "time": now, "source": "shop", "detail-type": "CustomerUpdated", "detail": detail}
    assert runtime.invoke_profile([json.dumps(envelope)]) == {"batchItemFailures": []}
    request = {"request_id": "r1", "customer_id": CUSTOMER, "channel": "email", "category": "sale",
               "template": "sale", "data": {"headline": "h", "url": "u"}}  # fmt: skip
    envelope = {"id": "e2", "time": now, "source": "shop", "detail-type": "MessageRequested", "detail": request}
    assert runtime.invoke_arbiter([json.dumps(envelope)]) == {"batchItemFailures": []}
    assert CUSTOMER in logged.taken()  # the functions' log lines are captured here
    yield runtime


def table() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE_NAME)["Items"]
    return sorted(items, key=json.dumps)


def handle(function: str, request: dict[str, Any], app: Any) -> dict[str, Any]:
    if function == "unsubscribe":
        from functions.unsubscribe.handler import lambda_handler
    else:
        from functions.preferences.handler import lambda_handler
    return dict(lambda_handler(request, LocalContext(), app=app))


def assert_safe(response: dict[str, Any], logged: str) -> None:
    assert response["statusCode"] < 500, response
    shown = json.dumps(response) + logged
    assert not [secret for secret in SECRETS if secret in shown], shown


def valid_token(runtime: LocalRuntime) -> str:
    return sign(Claim(CUSTOMER, "category:sale", runtime.clock.now() + timedelta(days=30)), LOCAL_SIGNING_KEYS.keys[0])


def tampered(token: str, position: int, replacement: str) -> str:
    """``token`` with one character changed (to another one)."""
    at = position % len(token)
    new = replacement if replacement != token[at] else ("A" if token[at] != "A" else "B")
    return token[:at] + new + token[at + 1 :]


@FUZZ
@given(
    method=methods,
    path=st.one_of(st.just("/unsubscribe"), text.map(lambda t: "/" + t), text.map(lambda t: "/unsubscribe/" + t)),
    query=st.dictionaries(st.one_of(st.just("token"), text), text, max_size=3),
    mutation=st.one_of(st.none(), st.tuples(st.integers(min_value=0), st.sampled_from("A_-.=v2%0z"))),
    head=headers,
    body=bodies,
    encoded=st.booleans(),
)
@example(  # the one-click POST itself, its token one character off
    method="POST",
    path="/unsubscribe",
    query={},
    mutation=(-1, "A"),
    head={},
    body="List-Unsubscribe=One-Click",
    encoded=False,
)
def test_unsubscribe_without_a_valid_token_changes_nothing_and_never_fails(
    shop: LocalRuntime, logged: Lines, method: str, path: str, query: dict[str, str],
    mutation: tuple[int, str] | None, head: dict[str, str], body: str | None, encoded: bool,
) -> None:  # fmt: skip
    if mutation is not None:  # a real token, one character changed
        query = {**query, "token": tampered(valid_token(shop), *mutation)}
    before = table()
    app = unsubscribe_app(lambda: shop.ledger, lambda: LOCAL_SIGNING_KEYS, shop.clock)
    response = handle("unsubscribe", event(method, path, query, head, body, encoded, None), app)
    assert_safe(response, logged.taken())
    assert table() == before


def test_unsubscribe_with_a_valid_token_does_change(shop: LocalRuntime) -> None:
    """The property above can fail: the same request with the token untouched unsubscribes."""
    before = table()
    app = unsubscribe_app(lambda: shop.ledger, lambda: LOCAL_SIGNING_KEYS, shop.clock)
    request = event("POST", "/unsubscribe", {"token": valid_token(shop)}, {}, "List-Unsubscribe=One-Click", False, None)
    assert handle("unsubscribe", request, app)["statusCode"] == 200
    assert table() != before


preference_paths = st.one_of(
    st.just(OWN_PATH),
    text.map(lambda t: f"/customers/{t}/preferences"),
    text.map(lambda t: "/" + t),
    st.builds(lambda n: f"/customers/{'x' * n}/preferences", st.integers(min_value=100, max_value=3000)),
)


@FUZZ
@given(method=methods, path=preference_paths, query=st.dictionaries(text, text, max_size=3), head=headers,
       body=bodies, encoded=st.booleans())  # fmt: skip
@example(method="PUT", path=OWN_PATH, query={}, head={}, body=OPT_OUT, encoded=False)  # what a caller would change
@example(method="PUT", path=OWN_PATH, query={}, head={}, body=OPT_OUT, encoded=True)
def test_preferences_without_an_iam_caller_changes_nothing_and_never_fails(
    shop: LocalRuntime, logged: Lines, method: str, path: str, query: dict[str, str],
    head: dict[str, str], body: str | None, encoded: bool,
) -> None:  # fmt: skip
    before = table()
    app = preferences_app(lambda: shop.ledger, shop.clock)
    response = handle("preferences", event(method, path, query, head, body, encoded, None), app)
    assert_safe(response, logged.taken())
    assert table() == before


@FUZZ
@given(method=methods, path=preference_paths, query=st.dictionaries(text, text, max_size=3), head=headers,
       body=bodies, encoded=st.booleans())  # fmt: skip
def test_preferences_with_an_iam_caller_never_fails_and_never_shows_an_address(
    shop: LocalRuntime, logged: Lines, method: str, path: str, query: dict[str, str],
    head: dict[str, str], body: str | None, encoded: bool,
) -> None:  # fmt: skip
    app = preferences_app(lambda: shop.ledger, shop.clock)
    response = handle("preferences", event(method, path, query, head, body, encoded, CALLER), app)
    assert_safe(response, logged.taken())


def test_preferences_with_an_iam_caller_does_change(shop: LocalRuntime) -> None:
    """The no-change property above can fail: the same PUT signed by a caller changes the customer."""
    before = table()
    app = preferences_app(lambda: shop.ledger, shop.clock)
    assert handle("preferences", event("PUT", OWN_PATH, {}, {}, OPT_OUT, False, CALLER), app)["statusCode"] == 200
    assert table() != before
