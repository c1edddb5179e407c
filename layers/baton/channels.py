"""Channel adapters: SESv2 for email (raw MIME, so every header is exact), SNS for SMS and mobile push.

Provider errors become domain errors here: throttling, 5xx and timeouts are TransientFailure (retried with
backoff by botocore's standard retry mode, then by redelivery); anything else is PermanentDeliveryFailure with
the provider's code as the reason.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from baton.errors import PermanentDeliveryFailure, TransientFailure
from baton.ports import Envelope

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "SendingPausedException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSThrottlingException",
    }
)


def classify(exc: Exception) -> Exception:
    """A provider exception as TransientFailure or PermanentDeliveryFailure."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        if code in TRANSIENT_CODES or status >= 500:
            return TransientFailure(f"provider:{code}")
        return PermanentDeliveryFailure(f"provider:{code}")
    if isinstance(exc, ConnectionError | ReadTimeoutError | BotoCoreError):
        return TransientFailure(f"provider:{type(exc).__name__}")
    return exc


# CRLF line ends, and no folding below RFC 5322's 998-character line limit, so that List-Unsubscribe reaches
# the mailbox exactly as written (folding would turn the URL into RFC 2047 encoded words).
MIME_POLICY = SMTP.clone(max_line_length=998)


def build_mime(envelope: Envelope, sender: str) -> bytes:
    message = EmailMessage(policy=MIME_POLICY)
    message["From"] = sender
    message["To"] = envelope.recipient
    message["Subject"] = envelope.content.subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in envelope.headers.items():
        message[name] = value
    message.set_content(envelope.content.text)
    if envelope.content.html:
        message.add_alternative(envelope.content.html, subtype="html")
    return message.as_bytes()


class AwsChannels:
    """``baton.ports.Channels`` on SESv2 and SNS."""

    def __init__(self, sesv2: Any, sns: Any, *, sender: str, configuration_set: str):
        self._ses = sesv2
        self._sns = sns
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, envelope: Envelope) -> str:
        try:
            if envelope.channel == "email":
                return self._email(envelope)
            if envelope.channel == "sms":
                return self._sms(envelope)
            return self._push(envelope)
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc

    def _email(self, envelope: Envelope) -> str:
        response = self._ses.send_email(
            FromEmailAddress=self._sender,
            Destination={"ToAddresses": [envelope.recipient]},
            Content={"Raw": {"Data": build_mime(envelope, self._sender)}},
            ConfigurationSetName=self._configuration_set,
            EmailTags=[
                {"Name": "category", "Value": envelope.category},
                {"Name": "transactional", "Value": str(envelope.transactional).lower()},
            ],
        )
        return str(response["MessageId"])

    def _sms(self, envelope: Envelope) -> str:
        # STOP replies put a number on SNS's opt-out list; SNS would accept the publish and drop it silently,
        # so ask first and end the request failed with a reason an operator can read.
        if self._sns.check_if_phone_number_is_opted_out(phoneNumber=envelope.recipient).get("isOptedOut"):
            raise PermanentDeliveryFailure("sms_opted_out")
        kind = "Transactional" if envelope.transactional else "Promotional"
        response = self._sns.publish(
            PhoneNumber=envelope.recipient,
            Message=envelope.content.text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}},
        )
        return str(response["MessageId"])

    def _push(self, envelope: Envelope) -> str:
        response = self._sns.publish(TargetArn=envelope.recipient, Message=envelope.content.text)
        return str(response["MessageId"])
