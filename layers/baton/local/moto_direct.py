"""Embedded moto answers the ledger's DynamoDB data-plane calls in process, without botocore's endpoint resolution
or moto's HTTP round trip, and the channels' sends (SES v2, SNS) without botocore's way to moto's stubber.

Through the mock's usual way, a call's parameters go through botocore's endpoint resolution and serializer, are
signed into an HTTP request, which moto's stubber matches against every service's URLs, wraps as a web request,
parses back into parameters by the service model, hands to moto's DynamoDB handler, serializes the handler's answer
into JSON, and which botocore then parses again. On a ``baton replay`` of a thousand requests that round trip, not
moto's DynamoDB, took about half of the time spent in moto.

``install()`` adds two things to every botocore session made from then on:

- a ``before-call`` handler, last of its event, that hands the serialized body of a data-plane call
  (``DATA_PLANE``) straight to moto's DynamoDB handler and returns its answer as the parsed response (``serve``);
- ``_DirectCalls`` among each DynamoDB client's bases (botocore's ``creating-client-class`` event): a data-plane
  call to embedded moto takes the client's own URL instead of botocore's endpoint resolution (moto answers the
  call the same at either) and its request carries no user agent (which moto's DynamoDB handler does not read);
  botocore validates (if the client does) and serializes it as ever. botocore's ``_make_api_call`` makes the call
  all the same (its parameter events, ``before-call``, ``after-call``, its error), so what wraps it (the tests'
  fault injection, a count of calls) sees every call.

On the way in and out of moto's handler:

- the parameters are the serialized body read back with ``json.loads`` (a copy, as over HTTP); a body that may
  hold a binary value is read by moto's own parser (which decodes base64), so that moto stores what it stores
  over HTTP;
- the answer is the handler's result as moto's serializer is given it, without the keys it leaves out (those the
  operation's output does not model, and those whose value is None), and with ``ResponseMetadata``;
- an error goes through moto's own error response and botocore's parser, as over HTTP (botocore then raises the
  same ``ClientError``, cancellation reasons and all).

Only calls that would go unsigned to embedded moto are served so (``baton.local.mocked_aws``: inside the mock,
DynamoDB on moto); control-plane calls (CreateTable, DescribeTable and the like), calls to a DynamoDB endpoint,
and any call while moto's IAM checks are on go the usual way. What the usual way does and this one leaves out is
what no response on embedded moto depends on: the endpoint's URL (the client's own is the one checked), the user
agent, signing, botocore's retries (moto's DynamoDB neither throttles nor fails for now), moto's request recorder
(off unless asked for) and the CRC32 header.

The channels' sends (``CHANNELS``: SES v2's SendEmail, SNS's Publish and CheckIfPhoneNumberIsOptedOut) take
botocore's way as far as ``before-call`` (serialized, not signed inside the mock), where ``serve_channel``
prepares the request botocore would send and hands it to the handler moto's stubber would route it to (the
stubber's look through every service's URLs made once per URL, its checks of the services it tries made at each
call); moto's HTTP response is parsed as botocore parses one. That leaves out the stubber's routing and
botocore's endpoint: its events from ``request-created`` on (``before-send`` among them) and its retries, which
never run for these three (moto answers them with no 5xx and no throttling error: a 4xx at most, which botocore
does not retry). Any other SES or SNS call goes the usual way.

``tests/functional/test_moto_direct.py`` holds the responses, errors and table contents to those of the usual way
on random calls, from a client that validates its parameters and from one that does not; and the channels'
responses (status and retries included), errors and sent messages to those through moto's stubber on random
sends.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DATA_PLANE = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
# the channels' sends, by service (botocore's service ids), answered by moto in process
CHANNELS = {"sesv2": frozenset({"SendEmail"}), "sns": frozenset({"Publish", "CheckIfPhoneNumberIsOptedOut"})}
_BINARY = (b'"B"', b'"BS"')  # how a binary attribute value's type shows in a serialized body

_local = threading.local()  # .usual: calls on this thread go the usual way (``the_usual_way``)


def install() -> None:
    """Every botocore session made from now on serves DynamoDB's data-plane calls on embedded moto in process
    (idempotent; as moto registers its own stubber)."""
    from botocore.handlers import BUILTIN_HANDLERS, REGISTER_LAST

    entries = [("before-call.dynamodb", serve, REGISTER_LAST), ("creating-client-class.dynamodb", _direct_calls)]
    entries += [(f"before-call.{service}", serve_channel, REGISTER_LAST) for service in CHANNELS]
    for entry in entries:
        if entry not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(entry)


def _direct_calls(base_classes: list[type], **_: Any) -> None:
    """``creating-client-class.dynamodb``: the client class is a ``_DirectCalls`` one."""
    base_classes.insert(0, _DirectCalls)


class _DirectCalls:
    """A DynamoDB client whose data-plane calls to embedded moto take its own URL instead of botocore's endpoint
    resolution and carry no user agent (see the module's text). botocore's own ``_make_api_call`` still makes
    every call, so what wraps it (the fault injection of the tests, a call count) sees each one."""

    def _resolve_endpoint_ruleset(
        self, operation_model: Any, params: Any, request_context: Any, ignore_signing_region: bool = False
    ) -> Any:
        client: Any = self
        if _straight(client, operation_model):
            return client.meta.endpoint_url, {}, {}
        return super()._resolve_endpoint_ruleset(  # type: ignore[misc]
            operation_model, params, request_context, ignore_signing_region
        )

    def _convert_to_request_dict(
        self,
        api_params: dict[str, Any],
        operation_model: Any,
        endpoint_url: str,
        context: Any = None,
        headers: Any = None,
        set_user_agent_header: bool = True,
    ) -> dict[str, Any]:
        client: Any = self
        user_agent = set_user_agent_header and not _straight(client, operation_model)  # moto reads no user agent
        return super()._convert_to_request_dict(  # type: ignore[misc]
            api_params, operation_model, endpoint_url, context, headers, user_agent
        )


def _straight(client: Any, operation_model: Any) -> bool:
    """Whether ``client``'s call of ``operation_model`` takes the straight way: a data-plane call to embedded
    moto."""
    return (
        operation_model.name in DATA_PLANE
        and not getattr(_local, "usual", False)
        and _to_embedded_moto(client.meta.endpoint_url)
    )


@contextmanager
def the_usual_way() -> Iterator[None]:
    """Calls on this thread inside the block go through moto's HTTP round trip (to compare the two)."""
    before = getattr(_local, "usual", False)
    _local.usual = True
    try:
        yield
    finally:
        _local.usual = before


def serve(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> tuple[Any, Any] | None:
    """``before-call.dynamodb``: the (http response, parsed response) of a data-plane call to embedded moto, or
    None to let the call go the usual way."""
    if model.name not in DATA_PLANE or getattr(_local, "usual", False) or not _to_embedded_moto(params["url"]):
        return None
    from moto.core.exceptions import HTTPException, ServiceException
    from moto.core.responses import ActionResult
    from moto.core.utils import camelcase_to_underscores
    from moto.dynamodb.responses import DynamoHandler

    handler = DynamoHandler()
    handler.headers = params["headers"]
    handler.querystring = {}
    handler.region = context["client_region"]
    handler.response_headers = {"server": "amazon.com"}
    handler.body = handler.params = _parameters(model, params["body"])
    handler.current_account = handler.get_current_account()
    try:
        result = getattr(handler, camelcase_to_underscores(model.name))()
    except ServiceException as exc:
        status, headers, body = handler.serialized(ActionResult(exc))
        return _parsed_as_botocore_does(model, params["url"], status, headers, body)
    except HTTPException as exc:
        return _parsed_as_botocore_does(
            model, params["url"], exc.code or 500, dict(exc.get_headers() or []), exc.get_body()
        )
    members = model.output_shape.members
    parsed = {name: value for name, value in result.result.items() if name in members and value is not None}
    return _answer(params["url"], parsed)


def serve_channel(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, Any] | None:
    """``before-call.sesv2`` and ``before-call.sns``: the (http response, parsed response) of a channel's send
    (``CHANNELS``) as moto's stubber would give it, without botocore's way to the stubber and the stubber's look
    through every service's URLs: the request botocore would send, prepared from its request dict, goes to the
    handler moto routes its URL to (``_route``, the stubber's match, made once per URL), and the handler's response
    is parsed as botocore parses it. None (the usual way) for any other call, outside the mock, where the stubber
    would not answer it, or while moto's IAM checks are on."""
    from botocore.awsrequest import create_request_object
    from moto.core.models import botocore_stubber

    from baton.local.mocked_aws import goes_unsigned

    service = model.service_model.service_id.hyphenize()
    if (
        model.name not in CHANNELS.get(service, ())
        or getattr(_local, "usual", False)
        or not (botocore_stubber.enabled and goes_unsigned(model.service_model.signing_name))
    ):
        return None
    from moto.core.config import passthrough_url

    request = create_request_object(params).prepare()
    clean = _clean(request.url)
    found = _route(clean)
    if found is None or passthrough_url(clean) or not _stubber_answers(found[0]):
        return None
    from moto.core.exceptions import HTTPException
    from moto.core.request import normalize_request
    from moto.moto_api import recorder

    normalized = normalize_request(request)
    try:
        recorder._record_request(normalized)
        status, headers, body = found[1](normalized, normalized.raw_url, normalized.headers)
    except HTTPException as exc:
        status, headers, body = exc.code, exc.get_headers(), exc.get_body()
    return _parsed_as_botocore_does(model, request.url, status, dict(headers or {}), body)


def _clean(url: str) -> str:
    """The URL as moto's stubber matches it: without its query string."""
    from moto.core.utils import get_equivalent_url_in_aws_domain

    parsed, _ = get_equivalent_url_in_aws_domain(url)
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}"


@functools.lru_cache(maxsize=64)
def _route(clean_url: str) -> tuple[tuple[str, ...], Any] | None:
    """(the services whose URLs match ``clean_url``, in the order moto's stubber tries them, up to the one that
    answers; its handler) where the one that answers is a channel's service; else None."""
    import re

    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict
    from moto.core.botocore_stubber import backend_index

    tried: list[str] = []
    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        tried.append(service)
        backend_dict: Any = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            accounts = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = accounts["us-east-1"] if "us-east-1" in accounts else accounts["aws"]
        else:
            backend = backend_dict["global"]
        for url, handler in backend.urls.items():
            if re.compile(url).match(clean_url):
                return (tuple(tried), handler) if service in CHANNELS else None
    return None


def _stubber_answers(services: tuple[str, ...]) -> bool:
    """Whether moto's stubber answers a call now that it tries ``services`` for (the checks it makes at each call),
    with moto's IAM checks off (they read the request's signature)."""
    from moto import settings
    from moto.core.config import passthrough_service, service_whitelisted
    from moto.core.models import botocore_stubber

    return (
        botocore_stubber.enabled
        and float("inf") == settings.INITIAL_NO_AUTH_ACTION_COUNT
        and all(service_whitelisted(service) and not passthrough_service(service) for service in services)
    )


def _to_embedded_moto(url: str) -> bool:
    """Whether a DynamoDB call to ``url`` goes unsigned to embedded moto, with nothing on moto's side that reads
    more of the request than its body (IAM checks, a service left out of the mock or passed through)."""
    from baton.local.mocked_aws import goes_unsigned

    return goes_unsigned("dynamodb") and _on_aws(url) and _stubber_answers(("dynamodb",))


@functools.lru_cache(maxsize=64)
def _on_aws(url: str) -> bool:
    """Whether ``url``'s host is one of AWS's (``*.amazonaws.com``), where embedded moto answers."""
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").endswith(".amazonaws.com")


def _parameters(model: Any, body: bytes | str) -> dict[str, Any]:
    if not body:
        return {}
    raw = body.encode() if isinstance(body, str) else body
    if not any(marker in raw for marker in _BINARY):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    from moto.core.parse import PROTOCOL_PARSERS

    parser = PROTOCOL_PARSERS["json"](model, map_type=dict)
    request: Any = {"method": "POST", "values": {}, "headers": {}, "body": raw, "url_path": "/", "url_params": {}}
    return dict(parser.parse(request))


def _answer(url: str, parsed: dict[str, Any]) -> tuple[Any, Any]:
    from botocore.awsrequest import AWSResponse

    request_id = os.urandom(16).hex()  # uuid4's randomness, without a UUID made of it
    parsed["ResponseMetadata"] = {
        "RequestId": request_id,
        "HTTPStatusCode": 200,
        "HTTPHeaders": {"server": "amazon.com", "x-amzn-requestid": request_id},
        "RetryAttempts": 0,
    }
    headers: Any = {"server": "amazon.com", "x-amzn-requestid": request_id}  # AWSResponse keeps any mapping's items
    return AWSResponse(url, 200, headers, None), parsed


def _parsed_as_botocore_does(
    model: Any, url: str, status: int, headers: dict[str, Any], body: str | bytes
) -> tuple[Any, Any]:
    """moto's HTTP response (an error's, or any of a channel call's) parsed as botocore's endpoint parses one
    (``_do_get_response`` and ``_add_modeled_error_fields``)."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser
    from moto.core.botocore_stubber import MockRawResponse

    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = str(value)
    http = AWSResponse(url, int(status), http_headers, MockRawResponse(body))
    response = convert_to_response_dict(http, model)
    parser = create_parser(model.service_model.resolved_protocol)
    parsed = parser.parse(response, model.output_shape)
    code = parsed.get("Error", {}).get("Code")
    shape = model.service_model.shape_for_error_code(code) if code else None
    if shape is not None:
        parsed.update(parser.parse(response, shape))
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return http, parsed
