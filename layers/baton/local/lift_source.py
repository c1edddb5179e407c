"""The customers ``baton lift`` compares, read from a ledger table (a deployed one, DynamoDB Local, or the replay's
own on local AWS): every request item once (a scan), then per customer with a marketing request its purchases,
its profile and its addresses' standing. The group is assigned again from the key, as the arbiter assigned it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from baton.app.holdout import in_holdout
from baton.local.lift import CustomerOutcome

if TYPE_CHECKING:
    from baton.adapters.dynamodb.ledger import DynamoLedger
    from baton.core.policy import Policy


def first_requests(ledger: DynamoLedger, policy: Policy) -> dict[str, datetime]:
    """Each customer's first marketing request the holdout applies to (rejected requests left out)."""
    from baton.adapters.dynamodb.items import request_sk
    from baton.adapters.dynamodb.ledger import iter_items

    first: dict[str, datetime] = {}
    for item in iter_items(ledger):
        is_request = str(item.get("sk", "")).startswith(request_sk(""))
        if not is_request or item.get("status") == "rejected" or not item.get("requested_at"):
            continue
        category = item.get("category") or ""
        if not category or not policy.holdout_covers(category, bool(item.get("transactional"))):
            continue
        customer_id = str(item["pk"]).removeprefix("C#")
        at = datetime.fromisoformat(str(item["requested_at"]).replace("Z", "+00:00"))
        if customer_id not in first or at < first[customer_id]:
            first[customer_id] = at
    return first


def customer_outcomes(ledger: DynamoLedger, policy: Policy, key: bytes) -> list[CustomerOutcome]:
    """The customers to compare, in id order. ``policy`` must have a holdout (its percentage assigns the groups)."""
    if policy.holdout is None:
        raise ValueError("the policy has no holdout: there is no group to compare with")
    percent = policy.holdout.percent
    outcomes = []
    for customer_id, at in sorted(first_requests(ledger, policy).items()):
        snapshot = ledger.load(customer_id, None, None, consistent=True)
        profile = snapshot.ledger.profile
        purchases = tuple((e.at, e.value) for e in ledger.engagements(customer_id, "purchase"))
        outcomes.append(
            CustomerOutcome(
                customer_id=customer_id,
                held_out=in_holdout(key, customer_id, percent),
                first_request_at=at,
                purchases=purchases,
                unsubscribed=bool(profile.opted_out_categories),
                complained=any(ledger.address_status(a) == "complaint" for a in snapshot.addresses.values()),
            )
        )
    return outcomes
