"""The typed Admin operations ordergate performs on the shop, over the allow-listed documents."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.admin.client import AdminClient
from service.admin.errors import ErrorKind, UpstreamUnavailable
from service.admin.snapshot import parse_order
from service.models import Order
from service.policy import RefundMethod

METAFIELD_NAMESPACE = "ordergate"
_ORDER_GID = re.compile(r"^gid://shopify/Order/([0-9]+)$")
STAFF_NOTE_LIMIT = 255  # orderCancel refuses a longer staffNote


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What `orderCancel` answered; `error_messages` are Shopify's text, for the audit log only."""

    job_id: str | None
    done: bool
    refused: bool
    error_codes: tuple[str, ...] = ()
    error_messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """One of the shop's webhook subscriptions: its gid, topic enum (ORDERS_UPDATED) and URI."""

    id: str
    topic: str
    uri: str


@dataclass(frozen=True, slots=True)
class SubscriptionOutcome:
    """What `webhookSubscriptionCreate` answered: the new subscription, or that one for this
    topic and URI already existed, or a refusal (the fields Shopify named; never its text)."""

    subscription: WebhookSubscription | None
    already_existed: bool = False
    refused_fields: tuple[str, ...] = ()


def search_value(value: str) -> str:
    """`value` as a single-quoted Shopify search term, with quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def numeric_order_id(order_id: str) -> str:
    """The number at the end of an order's `gid://shopify/Order/<n>` id."""
    match = _ORDER_GID.match(order_id)
    if match is None:
        raise ValueError("not a Shopify order id")
    return match.group(1)


def refund_method(refund: RefundMethod) -> dict[str, object]:
    """The `OrderCancelRefundMethodInput` for the merchant's refund policy."""
    if refund is RefundMethod.ORIGINAL:
        return {"originalPaymentMethodsRefund": True}
    if refund is RefundMethod.STORE_CREDIT:
        # `expiresAt` is optional: store credit that never expires.
        return {"storeCreditRefund": {}}
    # `refund: false` is deprecated; declining the original-methods refund says "no refund".
    return {"originalPaymentMethodsRefund": False}


def _malformed(operation: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(ErrorKind.MALFORMED, operation=operation)


def _payload(data: Mapping[str, Any], field: str, operation: str) -> Mapping[str, Any]:
    payload = data.get(field)
    if not isinstance(payload, Mapping):
        raise _malformed(operation)
    return payload


def _user_errors(payload: Mapping[str, Any], field: str, operation: str) -> list[Mapping[str, Any]]:
    errors = payload.get(field)
    if not isinstance(errors, list) or not all(isinstance(e, Mapping) for e in errors):
        raise _malformed(operation)
    return errors


class Shop:
    """One shop's orders as ordergate reads and changes them; every call goes through `client`."""

    def __init__(self, client: AdminClient) -> None:
        self._client = client

    async def _lookup(
        self, query: str, *, for_action: bool = False, product_tags: bool = True
    ) -> Order | None:
        operation = "OrderLookup" if product_tags else "OrderLookupWithoutProductTags"
        response = await self._client.execute(operation, {"query": query}, for_action=for_action)
        orders = _payload(response.data, "orders", operation)
        nodes = orders.get("nodes")
        if not isinstance(nodes, list):
            raise _malformed(operation)
        return parse_order(nodes[0]) if nodes and isinstance(nodes[0], Mapping) else None

    async def find_order(
        self, *, name: str, for_action: bool = False, product_tags: bool = True
    ) -> Order | None:
        """The order whose name is exactly `name` (e.g. "#1001"), or None.

        `for_action`: the read an action decides on, admitted like the action itself.
        `product_tags`: False leaves the line items' product tags out (fifty points fewer
        requested) for a policy that names no non-cancellable tags; they read as none.
        """
        order = await self._lookup(
            f"name:{search_value(name)}", for_action=for_action, product_tags=product_tags
        )
        # Shopify's search is fuzzy about names; only an exact match is the customer's order.
        return order if order is not None and order.number == name else None

    async def get_order(self, *, order_id: str) -> Order | None:
        """A fresh read of the order with this gid, or None."""
        order = await self._lookup(f"id:{numeric_order_id(order_id)}")
        return order if order is not None and order.id == order_id else None

    async def cancel_order(
        self,
        *,
        order_id: str,
        restock: bool,
        notify_customer: bool,
        refund: RefundMethod,
        staff_note: str,
    ) -> CancelOutcome:
        """Asks Shopify to cancel the order for the customer; the work finishes in a job."""
        variables = {
            "orderId": order_id,
            "reason": "CUSTOMER",
            "restock": restock,
            "notifyCustomer": notify_customer,
            "refundMethod": refund_method(refund),
            "staffNote": staff_note[:STAFF_NOTE_LIMIT],
        }
        response = await self._client.execute("OrderCancel", variables)
        payload = _payload(response.data, "orderCancel", "OrderCancel")
        errors = _user_errors(payload, "orderCancelUserErrors", "OrderCancel")
        job = payload.get("job")
        if errors:
            return CancelOutcome(
                job_id=None,
                done=False,
                refused=True,
                error_codes=tuple(str(e.get("code")) for e in errors if e.get("code")),
                error_messages=tuple(str(e.get("message", "")) for e in errors),
            )
        if not isinstance(job, Mapping) or not isinstance(job.get("id"), str):
            raise _malformed("OrderCancel")
        return CancelOutcome(job_id=job["id"], done=job.get("done") is True, refused=False)

    async def job_done(self, *, job_id: str) -> bool:
        """Whether the Admin job (e.g. behind orderCancel) has finished."""
        response = await self._client.execute("Job", {"id": job_id})
        job = _payload(response.data, "job", "Job")
        done = job.get("done")
        if not isinstance(done, bool):
            raise _malformed("Job")
        return done

    async def add_tags(self, *, order_id: str, tags: Sequence[str]) -> None:
        """Adds tags to the order; a refusal is an UpstreamUnavailable(GRAPHQL_ERRORS)."""
        response = await self._client.execute("TagsAdd", {"id": order_id, "tags": list(tags)})
        payload = _payload(response.data, "tagsAdd", "TagsAdd")
        if _user_errors(payload, "userErrors", "TagsAdd"):
            # tagsAdd's UserError has no code; its message is Shopify's text and stays out.
            raise UpstreamUnavailable(ErrorKind.GRAPHQL_ERRORS, operation="TagsAdd")

    async def set_metafield(
        self, *, order_id: str, key: str, value: str, type: str = "json"
    ) -> None:
        """Writes one metafield in ordergate's namespace on the order."""
        metafield = {
            "ownerId": order_id,
            "namespace": METAFIELD_NAMESPACE,
            "key": key,
            "value": value,
            "type": type,
        }
        response = await self._client.execute("MetafieldsSet", {"metafields": [metafield]})
        payload = _payload(response.data, "metafieldsSet", "MetafieldsSet")
        errors = _user_errors(payload, "userErrors", "MetafieldsSet")
        if errors:
            codes = [e.get("code") for e in errors]
            raise UpstreamUnavailable(
                ErrorKind.GRAPHQL_ERRORS, operation="MetafieldsSet", codes=codes
            )

    async def hold_fulfillment_order(
        self, *, fulfillment_order_id: str, notes: str, handle: str
    ) -> bool:
        """Holds a fulfillment order for staff review; False when Shopify refuses the hold."""
        hold = {"reason": "OTHER", "reasonNotes": notes, "handle": handle}
        variables = {"id": fulfillment_order_id, "fulfillmentHold": hold}
        response = await self._client.execute("FulfillmentOrderHold", variables)
        payload = _payload(response.data, "fulfillmentOrderHold", "FulfillmentOrderHold")
        return not _user_errors(payload, "userErrors", "FulfillmentOrderHold")

    async def webhook_subscriptions(
        self, *, uri: str, topics: Sequence[str]
    ) -> list[WebhookSubscription]:
        """The shop's subscriptions to `topics` (enum names, e.g. ORDERS_UPDATED) at `uri`.

        Operator CLI only: the service's registry does not allow this document.
        """
        variables = {"uri": uri, "topics": list(topics)}
        response = await self._client.execute("WebhookSubscriptions", variables)
        connection = _payload(response.data, "webhookSubscriptions", "WebhookSubscriptions")
        nodes = connection.get("nodes")
        if not isinstance(nodes, list):
            raise _malformed("WebhookSubscriptions")
        return [_subscription(node, "WebhookSubscriptions") for node in nodes]

    async def create_webhook_subscription(self, *, topic: str, uri: str) -> SubscriptionOutcome:
        """Subscribes the shop to `topic` (an enum name, e.g. ORDERS_UPDATED) at `uri`.

        Operator CLI only. Shopify refuses a second subscription to one topic at one URI with
        an "already been taken" error: that is reported as `already_existed`, not a refusal.
        """
        variables = {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}}
        response = await self._client.execute("WebhookSubscriptionCreate", variables)
        operation = "WebhookSubscriptionCreate"
        payload = _payload(response.data, "webhookSubscriptionCreate", operation)
        errors = _user_errors(payload, "userErrors", operation)
        if errors:
            # The message is Shopify's text: read to recognise a duplicate, never passed on.
            taken = all("taken" in str(error.get("message", "")).lower() for error in errors)
            fields = tuple(
                ".".join(str(part) for part in error.get("field") or ()) for error in errors
            )
            return SubscriptionOutcome(
                None, already_existed=taken, refused_fields=() if taken else fields
            )
        return SubscriptionOutcome(_subscription(payload.get("webhookSubscription"), operation))


def _subscription(node: object, operation: str) -> WebhookSubscription:
    if not isinstance(node, Mapping):
        raise _malformed(operation)
    values = (node.get("id"), node.get("topic"), node.get("uri"))
    if not all(isinstance(value, str) for value in values):
        raise _malformed(operation)
    return WebhookSubscription(id=node["id"], topic=node["topic"], uri=node["uri"])
