"""A customer's requests decided the way the arbiter decides them (load, the engine, commit), on any ledger: what
the contract tests drive a ledger with. The policy is small and on UTC, so that what it decides is plain to read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from baton.app.arbiter import domain_request
from baton.app.ports import Arrival, Ledger, RequestRecord, Snapshot
from baton.contract import CustomerUpdated, MessageRequested, parse_detail
from baton.core.domain import Decision, Outcome, Verdict
from baton.core.engine import arbitrate
from baton.core.policy import Policy, policy_from_mapping

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
DAILY = 2  # the policy's one cap: two marketing messages a day
HOLD = timedelta(minutes=10)  # the "held" category's arbitration window


def contract_policy() -> Policy:
    now = {"arbitration_window": "0m", "priority": 50}
    return policy_from_mapping(
        {
            "version": "contract",
            "timezone": "UTC",
            "caps": [{"name": "daily", "limit": DAILY, "window": "24h"}],
            "categories": {
                "sale": {**now, "over_cap": "defer", "max_delay": "48h"},
                "news": {**now, "over_cap": "suppress"},
                "held": {"arbitration_window": "10m", "priority": 60, "over_cap": "defer", "max_delay": "48h"},
            },
            "default_category": now,
        },
        "contract.yaml",
    )


def message(customer: str, request_id: str, category: str = "sale", **extra: Any) -> MessageRequested:
    detail = {
        "customer_id": customer,
        "request_id": request_id,
        "channel": "email",
        "category": category,
        "template": "sale",
        "data": {"headline": f"{category} {request_id}"},
        **extra,
    }
    parsed: MessageRequested = parse_detail(MessageRequested, detail)
    return parsed


@dataclass
class Shop:
    """Drives ``ledger`` as the arbiter does, with the engine's own decisions."""

    ledger: Ledger
    policy: Policy = field(default_factory=contract_policy)

    def customer(self, customer: str, at: datetime = START, **fields: Any) -> None:
        detail = {"customer_id": customer, "email": f"{customer}@example.com", "consent": {"email": True}, **fields}
        self.ledger.update_profile(parse_detail(CustomerUpdated, detail), at)

    def read(self, message: MessageRequested, at: datetime) -> tuple[Snapshot, Verdict, Arrival]:
        """The load and the engine's verdict for ``message`` arriving at ``at``, not committed."""
        snapshot = self.ledger.load(message.customer_id, message.request_id, message.recipient, consistent=True)
        recipient = message.recipient or snapshot.addresses.get(message.channel.value)
        request = domain_request(message, at, recipient, snapshot)
        verdict = arbitrate(self.policy, snapshot.ledger, [request], at)
        return snapshot, verdict, Arrival(message=message, recipient=recipient, event_id=f"e-{message.request_id}")

    def arrive(self, message: MessageRequested, at: datetime = START) -> Decision:
        """``message`` decided and committed at ``at``: the decision for it."""
        snapshot, verdict, arrival = self.read(message, at)
        self.ledger.commit(snapshot, verdict, arrival, self.policy.tag, at)
        decision = verdict.for_request(message.request_id)
        assert decision is not None
        return decision

    def release(self, customer: str, at: datetime) -> Verdict:
        """The customer's due requests settled at ``at``, as a release does."""
        snapshot = self.ledger.load(customer, None, None, consistent=True)
        verdict = arbitrate(self.policy, snapshot.ledger, [], at)
        self.ledger.commit(snapshot, verdict, None, self.policy.tag, at)
        return verdict

    def defer_again(self, customer: str, request_id: str, at: datetime, until: datetime) -> None:
        """The waiting request deferred once more (a decision the engine could take: quiet hours that moved)."""
        snapshot = self.ledger.load(customer, None, None, consistent=True)
        waiting = next(p for p in snapshot.ledger.pending if p.request.request_id == request_id)
        decision = Decision(waiting.request, Outcome.DEFERRED, "quiet_hours", waiting.priority, release_at=until)
        ledger = replace(snapshot.ledger, pending=(replace(waiting, due_at=until, reason="quiet_hours"),))
        self.ledger.commit(snapshot, Verdict((decision,), ledger), None, self.policy.tag, at)

    def record(self, customer: str, request_id: str) -> RequestRecord:
        return self.ledger.records(customer, [request_id])[request_id]
