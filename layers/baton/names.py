"""Every name Baton shares between the CDK app, the Lambda code, the local runtime and the tests.

One place, so that the deployed stack and the local runtime cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Final

SERVICE: Final = "baton"
METRICS_NAMESPACE: Final = "Baton"
# counted when a function refuses the template store's set (it keeps the last good one); an alarm watches it
TEMPLATES_REJECTED_METRIC: Final = "TemplatesRejected"
STACK_NAME: Final = "Baton"  # the CloudFormation stack

# EventBridge contract
BUS_NAME: Final = "baton"
DETAIL_MESSAGE_REQUESTED: Final = "MessageRequested"
DETAIL_CUSTOMER_UPDATED: Final = "CustomerUpdated"
DETAIL_CUSTOMER_ERASED: Final = "CustomerErased"
DETAIL_CONTACT_RECORDED: Final = "ContactRecorded"  # a contact made outside Baton
DETAIL_CUSTOMER_ENGAGED: Final = "CustomerEngaged"  # an open, click, session or purchase of the customer's
DETAIL_RELEASE_DUE: Final = "ReleaseDue"  # internal: sweeper -> arbitration queue
RELEASE_SOURCE: Final = "baton.sweeper"
CONTRACT_VERSION: Final = "1"
SCHEMA_REGISTRY_NAME: Final = "baton"

# The ledger table (single-table design, see README "Data model")
TABLE_NAME: Final = "baton-ledger"
PK: Final = "pk"
SK: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"
# the fleet's engagement histogram: the pk and sk of its one item (baton.app.fleet)
FLEET_KEY: Final = "FLEET"
DUE_INDEX: Final = "due"
DUE_INDEX_PK: Final = "due_pk"
DUE_INDEX_SK: Final = "due_sk"
DUE_SHARDS: Final = 8  # spreads the sweep over partitions; sweeper queries each


def due_shard_of(customer_id: str) -> int:
    """The due-index shard (0 to DUE_SHARDS - 1) that holds the customer's due requests."""
    return sum(customer_id.encode()) % DUE_SHARDS


# Queues
ARBITER_QUEUE: Final = "baton-arbitration"
ARBITER_DLQ: Final = "baton-arbitration-dlq"
PROFILE_QUEUE: Final = "baton-profile"
PROFILE_DLQ: Final = "baton-profile-dlq"
RULE_TARGET_DLQ: Final = "baton-rule-target-dlq"
# receives before SQS moves a record to its queue's DLQ: a record that failed five times is poison (or an outage)
MAX_RECEIVE_COUNT: Final = 5

# Policy at run time
POLICY_PARAMETER: Final = "/baton/policy"

# Functions: folder under functions/ -> (handler path)
FUNCTION_ARBITER: Final = "arbiter"
FUNCTION_PROFILE: Final = "profile"
FUNCTION_SWEEPER: Final = "sweeper"
FUNCTION_UNSUBSCRIBE: Final = "unsubscribe"
FUNCTION_PREFERENCES: Final = "preferences"
FUNCTION_FEEDBACK: Final = "feedback"
FUNCTION_PREVIEW: Final = "preview"

# Delivery feedback: SES publishes configuration-set events to the default bus with these detail types
SES_SOURCE: Final = "aws.ses"
SES_FEEDBACK_DETAIL_TYPES: Final = (
    "Email Bounced",
    "Email Complaint Received",
    "Email Delivered",
    "Email Opened",
    "Email Clicked",
)
FEEDBACK_QUEUE: Final = "baton-feedback"
FEEDBACK_DLQ: Final = "baton-feedback-dlq"
# Keys (baton.app.keys): the unsubscribe signing keys and the address salt, each in a secret of its own
SIGNING_SECRET_NAME: Final = "baton/signing-keys"  # JSON: {"keys": [{"id", "key", "from"}], "legacy": "..."}
SALT_SECRET_NAME: Final = "baton/address-salt"  # JSON: {"address_salt": "..."}
# The one secret of before, holding both ({"signing_key", "address_salt"}): ``infra.keys`` carries its keys over into
# the two secrets above when it creates them, and nothing reads it after that.
KEYS_SECRET_NAME: Final = "baton/keys"
# The sweeper's dead-letter queue: its invocations (asynchronous, by the schedule) that failed or came too late
SWEEPER_DLQ: Final = "baton-sweeper-dlq"


class Env:
    """Environment variable names, read only through baton.entry.settings."""

    TABLE_NAME: Final = "BATON_TABLE_NAME"
    POLICY_PARAMETER: Final = "BATON_POLICY_PARAMETER"
    SENDER: Final = "BATON_SENDER"
    SES_CONFIGURATION_SET: Final = "BATON_SES_CONFIGURATION_SET"
    ARBITER_QUEUE_URL: Final = "BATON_ARBITER_QUEUE_URL"
    AUDIT_RETENTION_DAYS: Final = "BATON_AUDIT_RETENTION_DAYS"
    SIGNING_SECRET: Final = "BATON_SIGNING_SECRET"
    SALT_SECRET: Final = "BATON_SALT_SECRET"
    UNSUBSCRIBE_URL: Final = "BATON_UNSUBSCRIBE_URL"
    UNSUBSCRIBE_MAILTO: Final = "BATON_UNSUBSCRIBE_MAILTO"
    TEMPLATES_BUCKET: Final = "BATON_TEMPLATES_BUCKET"  # the template store (without it: the shipped set)
    # Powertools' own
    POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
    POWERTOOLS_LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"
    # pydantic's: Baton uses no pydantic plugins, and with this set pydantic does not look for them (a scan of
    # every installed distribution's entry points, on the first model of every cold start)
    PYDANTIC_DISABLE_PLUGINS: Final = "PYDANTIC_DISABLE_PLUGINS"


NO_PYDANTIC_PLUGINS = "__all__"  # the value of Env.PYDANTIC_DISABLE_PLUGINS on every function


# -- Stages: several Baton stacks in one account and region ------------------------------------------------------
# A stage (``-c stage=NAME``) goes right after the leading ``baton`` of every name the stack gives, joined the way
# that segment is joined to the rest: stack Baton-NAME, bus and schema registry baton-NAME, table baton-NAME-ledger,
# queues baton-NAME-arbitration ..., parameter /baton/NAME/policy, secrets baton/NAME/signing-keys ... Without a stage
# the names are the constants above. The functions read their names from the environment (baton.entry.settings),
# never from here; the local runtime and the tests use the unstaged names.

LIMIT: Final = "limit"  # a name's field metadata: the most characters its service allows


@dataclass(frozen=True)
class StageNames:
    """Every name one deployment gives what it creates, and the key secrets it reads: with a stage, none of them is
    another deployment's, so stages can share an account and region."""

    stack: str = field(metadata={LIMIT: 128})  # CloudFormation
    bus: str = field(metadata={LIMIT: 256})  # EventBridge
    schema_registry: str = field(metadata={LIMIT: 64})  # EventBridge Schemas
    table: str = field(metadata={LIMIT: 255})  # DynamoDB
    arbiter_queue: str = field(metadata={LIMIT: 80})  # SQS, every queue
    arbiter_dlq: str = field(metadata={LIMIT: 80})
    profile_queue: str = field(metadata={LIMIT: 80})
    profile_dlq: str = field(metadata={LIMIT: 80})
    rule_target_dlq: str = field(metadata={LIMIT: 80})
    feedback_queue: str = field(metadata={LIMIT: 80})
    feedback_dlq: str = field(metadata={LIMIT: 80})
    sweeper_dlq: str = field(metadata={LIMIT: 80})
    policy_parameter: str = field(metadata={LIMIT: 2048})  # SSM Parameter Store
    signing_secret: str = field(metadata={LIMIT: 512})  # Secrets Manager
    salt_secret: str = field(metadata={LIMIT: 512})
    keys_secret: str = field(metadata={LIMIT: 512})  # the combined secret of before (read once by infra.keys)


UNSTAGED: Final = StageNames(
    stack=STACK_NAME,
    bus=BUS_NAME,
    schema_registry=SCHEMA_REGISTRY_NAME,
    table=TABLE_NAME,
    arbiter_queue=ARBITER_QUEUE,
    arbiter_dlq=ARBITER_DLQ,
    profile_queue=PROFILE_QUEUE,
    profile_dlq=PROFILE_DLQ,
    rule_target_dlq=RULE_TARGET_DLQ,
    feedback_queue=FEEDBACK_QUEUE,
    feedback_dlq=FEEDBACK_DLQ,
    sweeper_dlq=SWEEPER_DLQ,
    policy_parameter=POLICY_PARAMETER,
    signing_secret=SIGNING_SECRET_NAME,
    salt_secret=SALT_SECRET_NAME,
    keys_secret=KEYS_SECRET_NAME,
)
# Every one of these names allows letters, digits and hyphens, and a stack name starts with a letter; lowercase, as
# the rest of the names are.
STAGE_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]*")
# A stage adds its own length and one separator to each name: the longest stage that leaves every name in its limit.
MAX_STAGE_LENGTH: Final = min(f.metadata[LIMIT] - len(getattr(UNSTAGED, f.name)) - 1 for f in fields(StageNames))
_LEADING_SERVICE = re.compile(rf"/?{SERVICE}(?=[-/]|$)", re.IGNORECASE)


def check_stage(stage: str) -> str:
    """``stage`` if it can go into every name; else ValueError saying what a stage may be."""
    if not STAGE_PATTERN.fullmatch(stage) or len(stage) > MAX_STAGE_LENGTH:
        raise ValueError(
            f"expected a lowercase letter followed by lowercase letters, digits or hyphens, at most"
            f" {MAX_STAGE_LENGTH} characters (so that every name fits its service's limit), got {stage!r}"
        )
    return stage


def _staged(name: str, stage: str) -> str:
    """``name`` with ``stage`` after its leading ``baton``: ``baton-ledger`` -> ``baton-<stage>-ledger``,
    ``/baton/policy`` -> ``/baton/<stage>/policy``, ``baton`` -> ``baton-<stage>``, ``Baton`` -> ``Baton-<stage>``."""
    lead = _LEADING_SERVICE.match(name)
    if lead is None:
        raise ValueError(f"{name!r} does not start with {SERVICE}: a stage cannot go into it")
    rest = name[lead.end() :]
    return f"{lead[0]}{rest[:1] or '-'}{stage}{rest}"


def stage_names(stage: str | None) -> StageNames:
    """The names of the deployment of ``stage``; ``None`` (no stage) gives the unstaged names, unchanged."""
    if stage is None:
        return UNSTAGED
    check_stage(stage)
    return StageNames(**{f.name: _staged(getattr(UNSTAGED, f.name), stage) for f in fields(StageNames)})


def stage_of_table(table: str) -> str | None:
    """The stage of the deployment whose ledger table is ``table``: None for ``baton-ledger`` (no stage), the stage
    for ``baton-<stage>-ledger``; ValueError for a name no deployment gives its table."""
    if table == UNSTAGED.table:
        return None
    found = re.fullmatch(f"{SERVICE}-(.+){re.escape(UNSTAGED.table.removeprefix(SERVICE))}", table)
    if found is None or stage_names(found[1]).table != table:
        raise ValueError(f"{table!r} is not a Baton ledger table name ({UNSTAGED.table} or {SERVICE}-<stage>-ledger)")
    return found[1]
