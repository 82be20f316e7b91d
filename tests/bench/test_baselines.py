"""The naive BFF and the floor answer the benchmark's lookup correctly and alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import floor, naive_bff
from bench.asgi_client import post_json, running
from bench.workloads import body
from service.sandbox.generated import GENERATED_FIRST_NUMBER, generate_orders
from service.sandbox.server import SandboxShop, start_sandbox

ORDERS = 10
COMPARED = ("number", "financialStatus", "fulfillmentStatus", "total", "lineItems")


@pytest.fixture
async def shop() -> AsyncIterator[SandboxShop]:
    """A sandbox holding the generated orders the floor holds too."""
    sandbox = await start_sandbox(generated_orders=ORDERS)
    yield sandbox
    await sandbox.close()


async def _lookups(app: Any, numbers: list[int]) -> list[dict[str, Any]]:
    answers = []
    async with running(app):
        for number in numbers:
            status, answer = await post_json(app, "/graphql", body("L", number))
            assert status == 200
            answers.append(answer["data"]["orderStatus"])
    return answers


async def test_naive_bff_and_floor_describe_the_same_orders(shop: SandboxShop) -> None:
    numbers = [GENERATED_FIRST_NUMBER + index for index in range(ORDERS)]
    naive = naive_bff.create_app(endpoint=shop.endpoint, token=shop.admin_token)
    baseline = floor.create_app(generate_orders(ORDERS, now=datetime.now(UTC)))

    naive_answers = await _lookups(naive, numbers)
    floor_answers = await _lookups(baseline, numbers)

    assert all(answer["userErrors"] == [] for answer in naive_answers + floor_answers)
    assert [{key: a["order"][key] for key in COMPARED} for a in naive_answers] == [
        {key: a["order"][key] for key in COMPARED} for a in floor_answers
    ]


async def test_naive_bff_makes_one_admin_call_per_lookup(shop: SandboxShop) -> None:
    naive = naive_bff.create_app(endpoint=shop.endpoint, token=shop.admin_token)

    await _lookups(naive, [GENERATED_FIRST_NUMBER] * 3)

    assert [call.operation_name for call in shop.calls] == ["NaiveLookup"] * 3


async def test_naive_bff_refuses_a_wrong_contact(shop: SandboxShop) -> None:
    naive = naive_bff.create_app(endpoint=shop.endpoint, token=shop.admin_token)
    request = body("L", GENERATED_FIRST_NUMBER)
    request["variables"] = {"n": f"#{GENERATED_FIRST_NUMBER}", "c": "someone@example.com"}

    async with running(naive):
        _status, answer = await post_json(naive, "/graphql", request)

    assert answer["data"]["orderStatus"] == {
        "order": None,
        "userErrors": [{"code": "ORDER_NOT_FOUND", "message": naive_bff.NOT_FOUND["message"]}],
    }
