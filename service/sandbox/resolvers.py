"""Resolves the Admin slice over the sandbox store: store records in, Shopify-shaped values out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from service.sandbox.records import (
    SandboxCancellation,
    SandboxFulfillment,
    SandboxFulfillmentOrder,
    SandboxHold,
    SandboxJob,
    SandboxLineItem,
    SandboxMetafield,
    SandboxOrder,
    SandboxTracking,
    SandboxWebhookSubscription,
)
from service.sandbox.store import MetafieldInput, ShopStore, UserError

Resolved = dict[str, Any]
Info = GraphQLResolveInfo[Any]


def iso(moment: datetime | None) -> str | None:
    """Shopify's DateTime: ISO-8601 in UTC with a `Z`, whole seconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(value: Decimal) -> str:
    """A Decimal amount as Shopify's string, two places: "129.00"."""
    return str(value.quantize(Decimal("0.01")))


def _window(items: list[Any], first: int | None, last: int | None, reverse: bool) -> list[Any]:
    ordered = list(reversed(items)) if reverse else list(items)
    if first is not None:
        ordered = ordered[:first]
    if last is not None:
        ordered = ordered[-last:] if last else []
    return ordered


def _paged(items: list[Any], shape: Callable[[Any], Any]) -> Callable[..., Resolved]:
    def resolve(
        _info: Info,
        first: int | None = None,
        last: int | None = None,
        reverse: bool = False,
        **_ignored: Any,
    ) -> Resolved:
        return {"nodes": [shape(item) for item in _window(items, first, last, reverse)]}

    return resolve


def _first(items: list[Any], shape: Callable[[Any], Any]) -> Callable[..., list[Any]]:
    def resolve(_info: Info, first: int | None = None, **_ignored: Any) -> list[Any]:
        return [shape(item) for item in _window(items, first, None, False)]

    return resolve


def _line_item(item: SandboxLineItem) -> Resolved:
    return {
        "title": item.title,
        "variantTitle": item.variant_title,
        "quantity": item.quantity,
        "product": {"tags": list(item.product_tags)},
    }


def _tracking(tracking: SandboxTracking) -> Resolved:
    return {"company": tracking.company, "number": tracking.number, "url": tracking.url}


def _fulfillment(fulfillment: SandboxFulfillment) -> Resolved:
    return {
        "createdAt": iso(fulfillment.created_at),
        "status": fulfillment.status,
        "displayStatus": fulfillment.display_status,
        "inTransitAt": iso(fulfillment.in_transit_at),
        "estimatedDeliveryAt": iso(fulfillment.estimated_delivery_at),
        "deliveredAt": iso(fulfillment.delivered_at),
        "trackingInfo": _first(fulfillment.tracking, _tracking),
    }


def fulfillment_order(fulfillment_order: SandboxFulfillmentOrder) -> Resolved:
    """A FulfillmentOrder object."""
    return {"id": fulfillment_order.gid, "status": fulfillment_order.status}


def order(order: SandboxOrder) -> Resolved:
    """An Order object with its argument-taking fields as callables."""
    return {
        "id": order.gid,
        "name": order.name,
        "createdAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "closed": order.closed,
        "email": order.email,
        "phone": order.phone,
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": order.fulfillment_status,
        "returnStatus": order.return_status,
        "tags": list(order.tags),
        "totalPriceSet": {
            "presentmentMoney": {"amount": amount(order.total), "currencyCode": order.currency}
        },
        "risk": {"assessments": [{"riskLevel": level} for level in order.risk_levels]},
        "lineItems": _paged(order.line_items, _line_item),
        "fulfillments": _first(order.fulfillments, _fulfillment),
        "fulfillmentOrders": _paged(order.fulfillment_orders, fulfillment_order),
    }


def _job(job: SandboxJob) -> Resolved:
    return {"id": job.id, "done": job.done}


def _errors(errors: list[UserError]) -> list[Resolved]:
    return [
        {"code": error.code, "field": error.field, "message": error.message} for error in errors
    ]


def _metafield(metafield: SandboxMetafield) -> Resolved:
    return {"id": metafield.gid, "namespace": metafield.namespace, "key": metafield.key}


def _subscription(subscription: SandboxWebhookSubscription) -> Resolved:
    return {"id": subscription.gid, "topic": subscription.topic, "uri": subscription.uri}


class SandboxRoot:
    """The root value: each method resolves the root field of the slice it is named after."""

    def __init__(self, store: ShopStore) -> None:
        self._store = store

    def orders(self, _info: Info, query: str | None = None, **paging: Any) -> Resolved:
        """`orders(first, last, reverse, query)`: Shopify search over the shop's orders."""
        found = self._store.find_orders(query)
        return _paged(found, order)(_info, **paging)

    def job(self, _info: Info, id: str) -> Resolved | None:
        """`job(id)`: an asynchronous job, done once its effect has been applied."""
        found = self._store.jobs.get(id)
        return None if found is None else _job(found)

    def orderCancel(
        self, _info: Info, orderId: str, reason: str, restock: bool, **rest: Any
    ) -> Resolved:
        """`orderCancel`: a job when the order can be cancelled, userErrors otherwise."""
        method = rest.get("refundMethod") or {}
        cancellation = SandboxCancellation(
            reason=reason,
            restock=restock,
            refund=bool(method.get("originalPaymentMethodsRefund") or rest.get("refund")),
            store_credit=method.get("storeCreditRefund") is not None,
            notify_customer=bool(rest.get("notifyCustomer")),
            staff_note=rest.get("staffNote"),
        )
        outcome = self._store.cancel(order_id=orderId, cancellation=cancellation)
        if isinstance(outcome, UserError):
            return {"job": None, "orderCancelUserErrors": _errors([outcome])}
        return {"job": _job(outcome), "orderCancelUserErrors": []}

    def tagsAdd(self, _info: Info, id: str, tags: list[str]) -> Resolved:
        """`tagsAdd`: adds tags to an order."""
        return {"userErrors": _errors(self._store.add_tags(id=id, tags=tags))}

    def metafieldsSet(self, _info: Info, metafields: list[dict[str, Any]]) -> Resolved:
        """`metafieldsSet`: stores metafields on orders, all or none."""
        inputs = [
            MetafieldInput(
                owner_id=item["ownerId"],
                key=item["key"],
                value=item["value"],
                namespace=item.get("namespace"),
                type=item.get("type"),
            )
            for item in metafields
        ]
        stored, errors = self._store.set_metafields(inputs)
        shaped = None if stored is None else [_metafield(each) for each in stored]
        return {"metafields": shaped, "userErrors": _errors(errors)}

    def fulfillmentOrderHold(
        self, _info: Info, id: str, fulfillmentHold: dict[str, Any]
    ) -> Resolved:
        """`fulfillmentOrderHold`: holds an OPEN or SCHEDULED fulfilment order."""
        hold = SandboxHold(
            reason=fulfillmentHold["reason"],
            handle=fulfillmentHold.get("handle"),
            reason_notes=fulfillmentHold.get("reasonNotes"),
        )
        held, errors = self._store.hold(id=id, hold=hold)
        shaped = None if held is None else fulfillment_order(held)
        return {"fulfillmentOrder": shaped, "userErrors": _errors(errors)}

    def webhookSubscriptionCreate(
        self, _info: Info, topic: str, webhookSubscription: dict[str, Any]
    ) -> Resolved:
        """`webhookSubscriptionCreate`: one subscription per topic and URI."""
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        created, errors = self._store.subscribe(
            topic=topic, uri=uri, format=webhookSubscription.get("format") or "JSON"
        )
        shaped = None if created is None else _subscription(created)
        return {"webhookSubscription": shaped, "userErrors": _errors(errors)}

    def webhookSubscriptions(
        self,
        _info: Info,
        topics: list[str] | None = None,
        uri: str | None = None,
        callbackUrl: str | None = None,
        **paging: Any,
    ) -> Resolved:
        """`webhookSubscriptions(first, topics, uri)`: the shop's subscriptions."""
        found = self._store.find_subscriptions(topics=topics, uri=uri or callbackUrl)
        return _paged(found, _subscription)(_info, **paging)
