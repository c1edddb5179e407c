"""Hypothesis strategies for malformed arbitration-queue bodies. Each is broken *by construction* (a required
field removed, a value of the wrong type or outside the contract, an unknown field, an unknown template, not
JSON at all), so every one of them must be answered ``rejected``; none is filtered through Baton's own
validation. ``RID`` / ``CID`` are placeholders the scenario replaces with unique ids where they survive."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

RID = "__rid__"
CID = "__cid__"
REQUIRED = ("request_id", "customer_id", "channel", "category", "template")
KNOWN = (*REQUIRED, "campaign_id", "entity", "priority", "transactional", "recipient", "data", "not_after")
ENVELOPE = ("id", "time", "source", "detail-type", "detail")


def valid_detail() -> dict[str, Any]:
    return {
        "request_id": RID,
        "customer_id": CID,
        "channel": "email",
        "category": "sale",
        "template": "sale",
        "data": {"headline": "h", "url": "u"},
    }


def envelope(detail: Any, detail_type: Any = "MessageRequested") -> dict[str, Any]:
    return {"id": "e-1", "time": "2026-11-27T15:00:00Z", "source": "shop", "detail-type": detail_type, "detail": detail}


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
not_a_string = junk.filter(lambda v: not isinstance(v, str))
bad_identifier = st.one_of(
    st.just(""),
    st.text(min_size=129, max_size=200).filter(lambda s: s.strip() != ""),
    st.tuples(st.text(max_size=10), st.text(max_size=10)).map(lambda t: f"{t[0]}#{t[1]}"),
    st.tuples(st.text(max_size=10), st.sampled_from([" ", "\t", "\n"])).map(lambda t: f"{t[0]}{t[1]}x"),
)


@st.composite
def broken_detail(draw: st.DrawFn) -> dict[str, Any]:
    detail = valid_detail()
    how = draw(st.sampled_from(["drop", "wrong_type", "extra", "identifier", "value"]))
    if how == "drop":
        del detail[draw(st.sampled_from(REQUIRED))]
    elif how == "wrong_type":
        key = draw(st.sampled_from(KNOWN))
        if key == "priority":
            detail[key] = draw(junk.filter(lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, int))))
        elif key == "transactional":
            detail[key] = draw(junk.filter(lambda v: v is not None and not isinstance(v, bool)))
        elif key == "data":
            detail[key] = draw(junk.filter(lambda v: not isinstance(v, dict)))
        elif key == "not_after":  # a number would be read as a Unix time
            detail[key] = draw(junk.filter(lambda v: isinstance(v, list | dict)))
        else:  # strings, some optional: None would be allowed for those
            detail[key] = draw(not_a_string.filter(lambda v: v is not None))
    elif how == "extra":
        detail[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN))] = draw(junk)
    elif how == "identifier":
        detail[draw(st.sampled_from(["request_id", "customer_id", "campaign_id"]))] = draw(bad_identifier)
    else:
        key, value = draw(
            st.one_of(
                st.tuples(st.just("channel"), st.text(max_size=10).filter(lambda c: c not in ("email", "sms", "push"))),
                st.tuples(st.just("category"), st.from_regex(r"\A([A-Z0-9_][a-z]{0,5}|[a-z]{65,70})?\Z")),
                st.tuples(st.just("template"), st.from_regex(r"\Azz_[a-z0-9_]{1,10}\Z")),  # no such template
                st.tuples(st.just("template"), st.from_regex(r"\A([A-Z][a-z]{0,5}|)\Z")),
                st.tuples(st.just("priority"), st.integers().filter(lambda p: not 0 <= p <= 100)),
                st.tuples(st.just("recipient"), st.text(min_size=3, max_size=30).filter(lambda r: "@" not in r)),
                st.tuples(st.just("not_after"), st.just("2026-11-27T10:00:00")),  # no offset: not an aware time
                st.tuples(st.just("data"), st.just({})),  # the template needs a headline
                st.tuples(st.just("data"), st.just({"headline": "x" * 9000, "url": "u"})),  # over 8192 bytes
            )
        )
        detail[key] = value
    return detail


@st.composite
def broken_envelope(draw: st.DrawFn) -> dict[str, Any]:
    event = envelope(valid_detail())
    how = draw(st.sampled_from(["drop", "wrong_type", "detail_type", "time"]))
    if how == "drop":
        del event[draw(st.sampled_from(ENVELOPE))]
    elif how == "wrong_type":
        key = draw(st.sampled_from(ENVELOPE))
        if key == "detail":
            event[key] = draw(junk.filter(lambda v: not isinstance(v, dict)))
        elif key == "time":  # a number would be read as a Unix time
            event[key] = draw(junk.filter(lambda v: isinstance(v, list | dict) or v is None or isinstance(v, bool)))
        else:
            event[key] = draw(not_a_string)
    elif how == "detail_type":
        known = ("MessageRequested", "ReleaseDue")
        event["detail-type"] = draw(st.text(max_size=20).filter(lambda t: t not in known))
    else:
        event["time"] = draw(st.sampled_from(["", "yesterday", "2026-11-27T15:00:00", "2026-13-40T99:00:00Z"]))
    return event


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


malformed_body: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=60).filter(_not_json),
    junk.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    broken_envelope().map(json.dumps),
    broken_detail().map(lambda d: json.dumps(envelope(d))),
)
