"""Which order a delivery is about, from the pointer fields of Shopify's payloads."""

from __future__ import annotations

import pytest

from service.webhooks.topics import (
    COMPLIANCE_TOPICS,
    KNOWN_TOPICS,
    ORDER_TOPICS,
    compliance_orders,
    minimised,
    order_gid,
)

GID = "gid://shopify/Order/820982911946154508"


def test_the_topics_are_those_of_the_contract() -> None:
    assert sorted(KNOWN_TOPICS) == sorted(
        [
            "orders/updated",
            "orders/cancelled",
            "orders/fulfilled",
            "orders/partially_fulfilled",
            "fulfillments/create",
            "fulfillments/update",
            "fulfillment_events/create",
            "refunds/create",
            "customers/data_request",
            "customers/redact",
            "shop/redact",
        ]
    )
    assert not ORDER_TOPICS & COMPLIANCE_TOPICS


def test_an_order_gid_in_admin_graphql_api_id_wins() -> None:
    payload = {"admin_graphql_api_id": GID, "id": 1, "order_id": 2}
    assert order_gid("orders/updated", payload) == GID


def test_an_orders_topic_falls_back_to_id() -> None:
    assert order_gid("orders/cancelled", {"id": 820982911946154508}) == GID


def test_a_numeric_id_given_as_digits_is_accepted() -> None:
    assert order_gid("orders/updated", {"id": "820982911946154508"}) == GID


def test_a_fulfillment_points_at_its_order_by_order_id() -> None:
    payload = {
        "id": 255858046,
        "order_id": 820982911946154508,
        "admin_graphql_api_id": "gid://shopify/Fulfillment/255858046",
    }
    assert order_gid("fulfillments/create", payload) == GID


def test_a_refund_points_at_its_order_by_order_id() -> None:
    payload = {"id": 509562969, "order_id": 820982911946154508}
    assert order_gid("refunds/create", payload) == GID


def test_a_fulfillment_event_points_at_its_order_by_order_id() -> None:
    payload = {"id": 944956395, "fulfillment_id": 255858046, "order_id": 820982911946154508}
    assert order_gid("fulfillment_events/create", payload) == GID


def test_the_id_of_anything_but_an_order_is_never_taken_for_one() -> None:
    assert order_gid("fulfillments/update", {"id": 255858046}) is None


@pytest.mark.parametrize(
    "value", [None, True, 0, -5, 1.5, "", "12a", "gid://shopify/Order/1", [1], {"id": 1}]
)
def test_what_is_not_a_positive_numeric_id_is_no_order(value: object) -> None:
    assert order_gid("orders/updated", {"id": value}) is None


def test_an_admin_graphql_api_id_that_is_not_an_order_gid_is_ignored() -> None:
    payload = {"admin_graphql_api_id": "gid://shopify/Order/1 OR 1=1", "id": 7}
    assert order_gid("orders/updated", payload) == "gid://shopify/Order/7"


def test_a_compliance_payload_is_kept_without_the_customer() -> None:
    payload = {
        "shop_domain": "demo.myshopify.com",
        "customer": {"id": 7, "email": "ada@example.com", "phone": "+4790000001"},
        "orders_to_redact": [1001, "1002", "drop table", True],
        "data_request": {"id": 9},
    }

    kept = minimised(payload)

    assert kept == {"orders_to_redact": [1001, "1002"], "data_request_id": 9}
    assert compliance_orders(kept) == ["gid://shopify/Order/1001", "gid://shopify/Order/1002"]
