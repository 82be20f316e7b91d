"""orderStatus through the running app, against the sandbox shop over HTTP."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from tests.api.conftest import GraphQLCall

ORDER_STATUS = """
query Status($number: String!, $contact: String!) {
  orderStatus(orderNumber: $number, contact: $contact) {
    order {
      number placedAt cancelledAt financialStatus fulfillmentStatus returnStatus
      total { amount currencyCode }
      lineItems { title variantTitle quantity }
      shipments {
        carrier trackingNumber trackingUrl status shippedAt estimatedDeliveryAt deliveredAt
      }
      cancellation { eligible reason until from message }
      notReceived { eligible reason until from message }
      requests { id kind status submittedAt message }
    }
    userErrors { code reason field message }
  }
}
"""


async def status(graphql: GraphQLCall, number: str, contact: str, **headers: str) -> dict:  # type: ignore[type-arg]
    answer = await graphql(ORDER_STATUS, {"number": number, "contact": contact}, headers or None)
    assert answer.status == 200, answer.text
    assert "errors" not in answer.body, answer.body
    return answer.body["data"]["orderStatus"]  # type: ignore[no-any-return]


async def test_demo_order_is_found_by_number_and_email(graphql: GraphQLCall) -> None:
    payload = await status(graphql, "#1001", "ada.lovelace@example.com")
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["number"] == "#1001"
    assert order["fulfillmentStatus"] == "UNFULFILLED"
    assert order["lineItems"][0]["title"] == "Merino Crew Sweater"
    assert order["cancellation"]["eligible"] is True
    assert order["cancellation"]["until"] is not None
    assert order["notReceived"] == {
        "eligible": False,
        "reason": "NOT_SHIPPED_YET",
        "until": None,
        "from": None,
        "message": order["notReceived"]["message"],
    }


@pytest.mark.parametrize("typed", ["1001", " #1001 ", "#1001"])
async def test_order_number_is_accepted_as_customers_type_it(
    graphql: GraphQLCall, typed: str
) -> None:
    payload = await status(graphql, typed, "  Ada.Lovelace@EXAMPLE.com ")
    assert payload["order"]["number"] == "#1001"


async def test_wrong_contact_and_unknown_order_give_the_same_answer(graphql: GraphQLCall) -> None:
    wrong_contact = await status(graphql, "#1001", "someone.else@example.com")
    unknown_order = await status(graphql, "#9999", "ada.lovelace@example.com")
    assert wrong_contact == unknown_order
    assert wrong_contact["order"] is None
    assert [error["code"] for error in wrong_contact["userErrors"]] == ["ORDER_NOT_FOUND"]


@pytest.mark.parametrize(
    ("number", "contact", "field"),
    [
        ("#1001", "", "contact"),
        ("#1001", "  ", "contact"),
        ("", "ada.lovelace@example.com", "orderNumber"),
    ],
)
async def test_an_empty_field_is_invalid_input_naming_it_as_the_mutations_do(
    graphql: GraphQLCall, number: str, contact: str, field: str
) -> None:
    payload = await status(graphql, number, contact)
    assert payload["order"] is None
    (error,) = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", [field])
    assert error["message"]


async def test_phone_only_customer_is_found_by_a_national_number(graphql: GraphQLCall) -> None:
    payload = await status(graphql, "1013", "912 34 567")
    assert payload["order"]["number"] == "#1013"


async def test_shipments_carry_tracking(graphql: GraphQLCall) -> None:
    payload = await status(graphql, "#1009", "ingrid.svensson@example.com")
    (shipment,) = payload["order"]["shipments"]
    assert shipment["carrier"]
    assert shipment["trackingNumber"]
    assert shipment["trackingUrl"].startswith("https://")
    assert payload["order"]["notReceived"]["eligible"] is True


async def test_too_early_report_says_from_when(graphql: GraphQLCall) -> None:
    payload = await status(graphql, "#1008", "henrik.olsen@example.com")
    not_received = payload["order"]["notReceived"]
    assert not_received["reason"] == "TOO_EARLY"
    assert not_received["from"] is not None


@pytest.mark.parametrize(
    ("number", "contact", "reason"),
    [
        ("#1002", "bjorn.hansen@example.com", "WINDOW_CLOSED"),
        ("#1003", "camille.dubois@example.com", "NON_CANCELLABLE_ITEM"),
        ("#1004", "dag.nilsen@example.com", "NON_CANCELLABLE_ITEM"),
        ("#1005", "emma.jensen@example.com", "FULFILLMENT_IN_PROGRESS"),
        ("#1006", "finn.larsen@example.com", "FULFILLMENT_ON_HOLD"),
        ("#1007", "greta.berg@example.com", "PARTIALLY_FULFILLED"),
        ("#1010", "jonas.devries@example.com", "ALREADY_FULFILLED"),
        ("#1011", "karin.muller@example.com", "ALREADY_CANCELLED"),
    ],
)
async def test_cancellation_eligibility_of_demo_orders(
    graphql: GraphQLCall, number: str, contact: str, reason: str
) -> None:
    payload = await status(graphql, number, contact)
    assert payload["order"]["cancellation"]["eligible"] is False
    assert payload["order"]["cancellation"]["reason"] == reason


async def test_messages_follow_accept_language(graphql: GraphQLCall) -> None:
    english = await status(graphql, "#9999", "x@example.com")
    norwegian = await status(graphql, "#9999", "x@example.com", **{"Accept-Language": "nb-NO"})
    assert english["userErrors"][0]["message"] != norwegian["userErrors"][0]["message"]


async def test_the_servers_own_request_id_is_returned_and_audited(
    graphql: GraphQLCall, fresh_database_url: str
) -> None:
    # A client-chosen id could name another request in the audit log; it is kept apart.
    answer = await graphql(
        ORDER_STATUS, {"number": "#1001", "contact": "x@example.com"}, {"X-Request-ID": "abc-123"}
    )
    server_id = answer.headers["X-Request-ID"]
    assert server_id != "abc-123"
    assert len(server_id) == 32
    row = await _audit_row(fresh_database_url, "orderStatus")
    assert row["request_id"] == server_id
    # A person's own id: kept apart from the chain, erasable with the client's address.
    assert "client_request_id" not in json.loads(row["details"])
    assert json.loads(row["personal"])["details"] == {"client_request_id": "abc-123"}


async def test_an_unprintable_client_request_id_is_dropped(
    graphql: GraphQLCall, fresh_database_url: str
) -> None:
    await graphql(
        ORDER_STATUS, {"number": "#1001", "contact": "x@example.com"}, {"X-Request-ID": "a" * 129}
    )
    row = await _audit_row(fresh_database_url, "orderStatus")
    assert "client_request_id" not in json.loads(row["details"])
    assert "details" not in json.loads(row["personal"])


async def _audit_row(database_url: str, operation: str) -> asyncpg.Record:
    conn = await asyncpg.connect(database_url)
    try:
        for _ in range(50):  # the background writer flushes at least every 100 ms
            row = await conn.fetchrow(
                "select e.request_id, e.details, p.data::text as personal from audit_events e "
                "left join audit_personal p using (seq) where e.operation = $1",
                operation,
            )
            if row is not None:
                return row
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"no {operation} event was audited")


async def test_every_lookup_is_audited(graphql: GraphQLCall, fresh_database_url: str) -> None:
    await status(graphql, "#1001", "ada.lovelace@example.com")
    await status(graphql, "#1001", "wrong@example.com")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        rows: list[asyncpg.Record] = []
        for _ in range(50):  # the background writer flushes at least every 100 ms
            rows = await conn.fetch(
                "select outcome, e.order_id, p.data ->> 'client_address' as client_address, "
                "admin_calls from audit_events e left join audit_personal p using (seq) "
                "where operation = 'orderStatus' order by seq"
            )
            if len(rows) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    assert [row["outcome"] for row in rows] == ["ok", "ORDER_NOT_FOUND"]
    assert rows[0]["order_id"].startswith("gid://shopify/Order/")
    assert rows[1]["order_id"] is None
    assert {row["client_address"] for row in rows} == {"127.0.0.1"}
    assert json.loads(rows[0]["admin_calls"])[0]["operation"] == "OrderLookup"
