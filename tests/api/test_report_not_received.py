"""reportNotReceived through the running app: honest refusals, one structured case for staff."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from service.sandbox.server import SandboxShop
from tests.api.conftest import GraphQLCall

REPORT = """
mutation Report($input: ReportNotReceivedInput!) {
  reportNotReceived(input: $input) {
    request { id kind status submittedAt message }
    userErrors { code reason field message }
  }
}
"""


async def report(graphql: GraphQLCall, number: str, contact: str, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"orderNumber": number, "contact": contact, **extra}}
    answer = await graphql(REPORT, variables)
    assert answer.status == 200, answer.text
    assert "errors" not in answer.body, answer.body
    return answer.body["data"]["reportNotReceived"]  # type: ignore[no-any-return]


async def test_overdue_parcel_report_is_filed_for_staff(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    payload = await report(graphql, "#1009", "ingrid.svensson@example.com", comment="Nothing came")
    assert payload["userErrors"] == []
    request = payload["request"]
    assert (request["kind"], request["status"]) == ("NOT_RECEIVED", "OPEN")
    assert request["message"]
    (tags,) = sandbox.mutations("TagsAdd")
    assert tags.variables["tags"] == ["not-received"]
    (metafield,) = sandbox.mutations("MetafieldsSet")
    (value,) = metafield.variables["metafields"]
    assert (value["namespace"], value["key"], value["type"]) == (
        "ordergate",
        "not_received_report",
        "json",
    )
    document = json.loads(value["value"])
    assert document["request_id"] == request["id"]
    assert document["customer_comment"] == "Nothing came"
    assert document["carrier_claims_delivery"] is False
    (shipment,) = document["shipments"]
    assert shipment["carrier"] == "PostNord"
    assert shipment["tracking_number"]


async def test_delivered_parcel_report_records_the_carriers_claim(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    payload = await report(graphql, "#1010", "jonas.devries@example.com")
    assert payload["request"]["status"] == "OPEN"
    (metafield,) = sandbox.mutations("MetafieldsSet")
    document = json.loads(metafield.variables["metafields"][0]["value"])
    assert document["carrier_claims_delivery"] is True


async def test_second_report_returns_the_first(graphql: GraphQLCall, sandbox: SandboxShop) -> None:
    first = await report(graphql, "#1009", "ingrid.svensson@example.com")
    again = await report(graphql, "#1009", "ingrid.svensson@example.com", comment="still nothing")
    assert again["request"]["id"] == first["request"]["id"]
    assert len(sandbox.mutations()) == 2  # one tagsAdd, one metafieldsSet


async def test_concurrent_duplicate_reports_send_tag_and_metafield_once(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    answers = await asyncio.gather(
        *(report(graphql, "#1009", "ingrid.svensson@example.com") for _ in range(10))
    )
    assert len({answer["request"]["id"] for answer in answers}) == 1
    assert len(sandbox.mutations("TagsAdd")) == 1
    assert len(sandbox.mutations("MetafieldsSet")) == 1


@pytest.mark.parametrize(
    ("number", "contact", "reason"),
    [
        ("#1001", "ada.lovelace@example.com", "NOT_SHIPPED_YET"),
        ("#1008", "henrik.olsen@example.com", "TOO_EARLY"),
        ("#1014", "maja.lindqvist@example.com", "REPORT_WINDOW_CLOSED"),
        ("#1011", "karin.muller@example.com", "ALREADY_CANCELLED"),
    ],
)
async def test_refusals_send_nothing(
    graphql: GraphQLCall, sandbox: SandboxShop, number: str, contact: str, reason: str
) -> None:
    payload = await report(graphql, number, contact)
    (error,) = payload["userErrors"]
    assert (error["code"], error["reason"]) == ("NOT_ELIGIBLE", reason)
    assert sandbox.mutations() == []


async def test_comment_over_1000_characters_is_invalid(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    payload = await report(graphql, "#1009", "ingrid.svensson@example.com", comment="y" * 1001)
    assert payload["userErrors"][0]["field"] == ["input", "comment"]
    assert sandbox.mutations() == []


async def test_each_report_leaves_an_audit_trail(
    graphql: GraphQLCall, fresh_database_url: str
) -> None:
    payload = await report(graphql, "#1009", "ingrid.svensson@example.com")
    request_id = payload["request"]["id"]
    conn = await asyncpg.connect(fresh_database_url)
    try:
        rows = await conn.fetch(
            "select operation, outcome, admin_calls from audit_events"
            " where customer_request_id = $1 order by seq",
            request_id,
        )
    finally:
        await conn.close()
    assert [(row["operation"], row["outcome"]) for row in rows] == [
        ("reportNotReceived", "OPEN"),
        ("request.status_changed", "OPEN"),
    ]
    calls = [call["operation"] for call in json.loads(rows[1]["admin_calls"])]
    assert calls == ["TagsAdd", "MetafieldsSet"]
