"""A storefront puts a profile and a cart reminder on Baton's bus (docs: Storefront client; run by
tests/functional/test_client_aws.py on moto)."""

from baton.client import BatonClient
from baton.core.errors import InvalidRequest

baton = BatonClient(source="shop.automation")      # bus: "baton" (baton.names.BUS_NAME) unless bus_name=...

try:
    entries = [
        baton.customer_updated(customer_id="shopper-42", email="sam@example.com", timezone="America/Chicago",
                               consent={"email": True}),
        baton.message_requested(request_id="cart-987-r1", customer_id="shopper-42", channel="email",
                                category="cart_abandoned", entity="cart:987", template="cart_abandoned",
                                data={"items": ["Trail runner"], "cart_url": "https://shop.example/c/987"}),
    ]
except InvalidRequest as exc:                       # nothing has been sent
    print(exc.field, exc.message)                   # e.g. "prority unknown field"
    raise

result = baton.put(entries)
for failed in result.failed:                        # each with EventBridge's error code
    print(failed.entry, failed.error_code, failed.error_message)
result.raise_for_failures()                         # or raise EntriesNotPut listing them
