"""Every name Baton shares between the CDK app, the Lambda code, the local runtime and the tests.

One place, so that the deployed stack and the local runtime cannot drift apart.
"""

from __future__ import annotations

from typing import Final

SERVICE: Final = "baton"
METRICS_NAMESPACE: Final = "Baton"

# EventBridge contract
BUS_NAME: Final = "baton"
DETAIL_MESSAGE_REQUESTED: Final = "MessageRequested"
DETAIL_CUSTOMER_UPDATED: Final = "CustomerUpdated"
DETAIL_CUSTOMER_ERASED: Final = "CustomerErased"
DETAIL_RELEASE_DUE: Final = "ReleaseDue"  # internal: sweeper -> arbitration queue
RELEASE_SOURCE: Final = "baton.sweeper"
CONTRACT_VERSION: Final = "1"
SCHEMA_REGISTRY_NAME: Final = "baton"

# The ledger table (single-table design, see README "Data model")
TABLE_NAME: Final = "baton-ledger"
PK: Final = "pk"
SK: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"
DUE_INDEX: Final = "due"
DUE_INDEX_PK: Final = "due_pk"
DUE_INDEX_SK: Final = "due_sk"
DUE_SHARDS: Final = 8  # spreads the sweep over partitions; sweeper queries each

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
SES_FEEDBACK_DETAIL_TYPES: Final = ("Email Bounced", "Email Complaint Received")
FEEDBACK_QUEUE: Final = "baton-feedback"
FEEDBACK_DLQ: Final = "baton-feedback-dlq"
KEYS_SECRET_NAME: Final = "baton/keys"  # JSON: {"signing_key": "...", "address_salt": "..."}


class Env:
    """Environment variable names, read only through baton.settings."""

    TABLE_NAME: Final = "BATON_TABLE_NAME"
    POLICY_PARAMETER: Final = "BATON_POLICY_PARAMETER"
    SENDER: Final = "BATON_SENDER"
    SES_CONFIGURATION_SET: Final = "BATON_SES_CONFIGURATION_SET"
    ARBITER_QUEUE_URL: Final = "BATON_ARBITER_QUEUE_URL"
    AUDIT_RETENTION_DAYS: Final = "BATON_AUDIT_RETENTION_DAYS"
    KEYS_SECRET: Final = "BATON_KEYS_SECRET"
    UNSUBSCRIBE_URL: Final = "BATON_UNSUBSCRIBE_URL"
    UNSUBSCRIBE_MAILTO: Final = "BATON_UNSUBSCRIBE_MAILTO"
    # Powertools' own
    POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
    POWERTOOLS_LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"
    # pydantic's: Baton uses no pydantic plugins, and with this set pydantic does not look for them (a scan of
    # every installed distribution's entry points, on the first model of every cold start)
    PYDANTIC_DISABLE_PLUGINS: Final = "PYDANTIC_DISABLE_PLUGINS"


NO_PYDANTIC_PLUGINS = "__all__"  # the value of Env.PYDANTIC_DISABLE_PLUGINS on every function
