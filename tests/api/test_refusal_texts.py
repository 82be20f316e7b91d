"""A refusal's text says only what is true of the order, and the mutations say what
`orderStatus` says: one place (`Messages.not_eligible`) picks it from the order's facts."""

from __future__ import annotations

from typing import Any

from service.sandbox.server import SandboxShop
from tests.api.conftest import GraphQLCall
from tests.api.test_report_not_received import REPORT
from tests.api.test_request_cancellation import cancel

LOOK = """
query Look($number: String!, $contact: String!) {
  orderStatus(orderNumber: $number, contact: $contact) {
    order { cancellation { reason message } notReceived { reason message } }
  }
}
"""
ADA = ("#1001", "ada.lovelace@example.com")  # not shipped, still cancellable
JONAS = ("#1010", "jonas.devries@example.com")  # delivered 7 days ago


async def _look(graphql: GraphQLCall, number: str, contact: str, locale: str) -> dict[str, Any]:
    answer = await graphql(
        LOOK, {"number": number, "contact": contact}, {"Accept-Language": locale}
    )
    assert "errors" not in answer.body, answer.body
    return answer.body["data"]["orderStatus"]["order"]  # type: ignore[no-any-return]


async def test_a_report_on_an_unshipped_order_points_at_cancellation_as_the_lookup_does(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    number, contact = ADA
    for locale in ("en", "nb"):
        variables = {"input": {"orderNumber": number, "contact": contact, "idempotencyKey": "k"}}
        headers = {"Accept-Language": locale}
        first, replayed = [
            (await graphql(REPORT, variables, headers)).body["data"]["reportNotReceived"]
            for _ in range(2)
        ]
        looked = await _look(graphql, number, contact, locale)

        (error,) = first["userErrors"]
        assert error["reason"] == looked["notReceived"]["reason"] == "NOT_SHIPPED_YET"
        assert error["message"] == looked["notReceived"]["message"]
        assert replayed["userErrors"] == first["userErrors"]  # a replay answers the same
    assert "you can still cancel it" in (await _look(graphql, *ADA, "en"))["notReceived"]["message"]


async def test_a_delivered_order_is_offered_a_return_now(
    graphql: GraphQLCall, sandbox: SandboxShop
) -> None:
    payload = await cancel(graphql, *JONAS)
    looked = await _look(graphql, *JONAS, "en")

    (error,) = payload["userErrors"]
    assert error["reason"] == "ALREADY_FULFILLED"
    assert (
        error["message"]
        == looked["cancellation"]["message"]
        == (
            "This order has already been delivered, so it can no longer be cancelled. "
            "If you no longer want it, you can return it."
        )
    )
