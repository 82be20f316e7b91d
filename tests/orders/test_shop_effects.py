"""What ordergate writes into Shopify: customer text is quoted, labelled and on one line."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.admin.shop import STAFF_NOTE_LIMIT
from service.app import create_app
from service.models import (
    CustomerCancelReason,
    CustomerRequest,
    FulfillmentStatus,
    Money,
    Order,
    RequestKind,
    RequestStatus,
)
from service.orders.shop_effects import (
    CANCELLATION_TAG,
    CUSTOMER_COMMENT_LABEL,
    hold_note,
    one_line,
    request_document,
    staff_note,
)
from service.sandbox.server import SandboxShop
from service.storage.requests import AdminState, StoredRequest
from tests import factories
from tests.api.conftest import post_graphql, sandbox_settings, serving
from tests.conftest import DatabaseFactory

REQUEST_ID = "0b5e2d8c-3f41-4c3a-9a57-2f1d6c1e9b70"
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FORGED = "fine\n\nSTAFF NOTE: customer verified by phone, refund approved"
OWN_LINE = f"ordergate request {REQUEST_ID}; customer reason: CHANGED_MIND"
OPENING = f'{CUSTOMER_COMMENT_LABEL}: "'


def stored(
    comment: str | None,
    *,
    kind: RequestKind = RequestKind.CANCELLATION,
    reason: str | None = "CHANGED_MIND",
) -> StoredRequest:
    return StoredRequest(
        request=CustomerRequest(
            id=REQUEST_ID,
            kind=kind,
            status=RequestStatus.PROCESSING,
            order_id="gid://shopify/Order/1001",
            submitted_at=NOW,
        ),
        order_name="#1001",
        admin_state=AdminState.PENDING,
        admin_job_id=None,
        customer_reason=reason,
        comment=comment,
        locale="en",
        updated_at=NOW,
    )


def order() -> Order:
    return factories.order(
        id="gid://shopify/Order/1009",
        number="#1009",
        placed_at=NOW - timedelta(days=20),
        email="ingrid.svensson@example.com",
        fulfillment_status=FulfillmentStatus.FULFILLED,
        total=Money(Decimal("49.00"), "EUR"),
        line_items=(),
        shipments=(
            factories.shipment(
                NOW - timedelta(days=15),
                carrier="PostNord",
                tracking_number="00370712345678901234",
                tracking_url=None,
            ),
        ),
    )


def breaks_a_line(char: str) -> bool:
    """Could this character break, reorder or hide text where staff read it?"""
    category = unicodedata.category(char)
    return char.isspace() or category in {"Cc", "Cf", "Co", "Cs"} or category.startswith("Z")


def comment_line(note: str) -> str:
    own, comment = note.split("\n")
    assert own == OWN_LINE
    return comment


def test_staff_note_has_ordergates_line_then_the_comment_quoted_and_labelled() -> None:
    assert staff_note(stored(FORGED)) == (
        f"{OWN_LINE}\n"
        "Customer's comment (unverified): "
        '"fine STAFF NOTE: customer verified by phone, refund approved"'
    )


def test_staff_note_without_a_comment_is_ordergates_line_alone() -> None:
    assert staff_note(stored(None)) == OWN_LINE
    assert staff_note(stored(" \n\u2028\u200f\t")) == OWN_LINE


def test_staff_note_collapses_every_line_break_tab_and_bidi_mark_to_one_space() -> None:
    comment = (
        "a\r\nb\tc\u2028d\u2029e\u202ef\u200fg\x0bh\x85i\u00a0\u3000j \u2066 \u2069 k"
        "\x00l\ud800m\ue000n"
    )
    line = comment_line(staff_note(stored(comment)))
    assert line == f'{OPENING}a b c d e f g h i j k l m n"'


def test_staff_note_quote_in_the_comment_cannot_close_ordergates_quote() -> None:
    line = comment_line(
        staff_note(stored('ok" Refund approved by staff: "yes \u201cok\u201d \uff02'))
    )
    assert line.count('"') == 2
    assert line.startswith(OPENING)
    assert line.endswith('"')


def test_long_comment_is_cut_inside_the_quotes_with_an_ellipsis() -> None:
    comment = "word " * 100
    note = staff_note(stored(comment))
    assert len(note) == STAFF_NOTE_LIMIT
    line = comment_line(note)
    assert line.startswith(OPENING)
    assert line.endswith('…"')
    assert comment.startswith(line[len(OPENING) : -2])


@pytest.mark.parametrize("reason", [*CustomerCancelReason, None])
def test_staff_note_with_any_reason_keeps_label_and_closing_quote_within_the_limit(
    reason: CustomerCancelReason | None,
) -> None:
    note = staff_note(stored("x" * 500, reason=reason))
    assert len(note) <= STAFF_NOTE_LIMIT
    own, line = note.split("\n")
    assert own.startswith(f"ordergate request {REQUEST_ID}; customer reason: ")
    assert line.startswith(OPENING)
    assert line.endswith('x…"')


@given(st.text(max_size=600))
def test_any_comment_stays_on_one_quoted_labelled_line(comment: str) -> None:
    note = staff_note(stored(comment))
    assert len(note) <= STAFF_NOTE_LIMIT
    lines = note.split("\n")
    assert lines[0] == OWN_LINE
    if len(lines) == 1:
        return
    (line,) = lines[1:]
    assert line.startswith(OPENING)
    assert line.endswith('"')
    assert line.count('"') == 2
    quoted = line[len(OPENING) : -1]
    assert quoted == quoted.strip()
    assert "  " not in quoted
    assert not any(breaks_a_line(char) for char in quoted.replace(" ", ""))


def test_one_line_keeps_ordinary_text_as_written() -> None:
    assert one_line("Größe 42 passt nicht — bitte stornieren 🙏") == (
        "Größe 42 passt nicht — bitte stornieren 🙏"
    )


def test_metafield_keeps_the_comment_on_one_line() -> None:
    document = request_document(order(), stored(FORGED, kind=RequestKind.NOT_RECEIVED))
    assert (
        document["customer_comment"]
        == "fine STAFF NOTE: customer verified by phone, refund approved"
    )


def test_metafield_without_a_comment_has_none() -> None:
    document = request_document(order(), stored("\n\u2029 ", kind=RequestKind.NOT_RECEIVED))
    assert document["customer_comment"] is None


def test_hold_note_names_the_request_and_never_the_customers_text() -> None:
    note = hold_note(stored(FORGED))
    assert note == f"Cancellation requested by the customer (ordergate request {REQUEST_ID})."


# Through the running app and the sandbox shop: what Shopify actually receives.

REQUEST_CANCELLATION = """
mutation Cancel($input: RequestCancellationInput!) {
  requestCancellation(input: $input) {
    request { id status }
    userErrors { code }
  }
}
"""


@pytest.fixture
async def app_url(make_database: DatabaseFactory, sandbox: SandboxShop) -> AsyncIterator[str]:
    settings = sandbox_settings(await make_database(), sandbox)
    async with serving(create_app(settings)) as url:
        yield url


async def request_cancellation(app_url: str, number: str, contact: str) -> dict[str, str]:
    variables = {
        "input": {
            "orderNumber": number,
            "contact": contact,
            "reason": "CHANGED_MIND",
            "comment": FORGED,
        }
    }
    async with aiohttp.ClientSession() as http:
        answer = await post_graphql(http, app_url, REQUEST_CANCELLATION, variables)
    payload = answer.body["data"]["requestCancellation"]
    assert payload["userErrors"] == [], payload
    return payload["request"]  # type: ignore[no-any-return]


async def test_shopify_receives_the_comment_quoted_on_its_own_line_after_ordergates(
    app_url: str, sandbox: SandboxShop
) -> None:
    request = await request_cancellation(app_url, "#1001", "ada.lovelace@example.com")
    (call,) = sandbox.mutations("OrderCancel")
    assert call.variables["staffNote"] == (
        f"ordergate request {request['id']}; customer reason: CHANGED_MIND\n"
        "Customer's comment (unverified): \"fine STAFF NOTE: customer verified by phone, "
        'refund approved"'
    )


async def test_review_hold_tags_and_metafield_carry_no_unquoted_customer_text(
    app_url: str, sandbox: SandboxShop
) -> None:
    request = await request_cancellation(app_url, "#1012", "lars.petersen@example.com")
    assert request["status"] == "PENDING_REVIEW"
    (tags,) = sandbox.mutations("TagsAdd")
    assert tags.variables["tags"] == [CANCELLATION_TAG]
    for hold in sandbox.mutations("FulfillmentOrderHold"):
        assert "STAFF" not in json.dumps(hold.variables)
    (metafield,) = sandbox.mutations("MetafieldsSet")
    document = json.loads(metafield.variables["metafields"][0]["value"])
    assert (
        document["customer_comment"]
        == "fine STAFF NOTE: customer verified by phone, refund approved"
    )
