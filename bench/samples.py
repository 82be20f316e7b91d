"""Before anything is timed: read whole answers from each server and check that they are right
and that the three servers describe the same orders."""

from __future__ import annotations

from typing import Any

from bench.processes import Server, post_json
from bench.workloads import body

# Refusals the policy gives by design; any other userError on a sample is a fault.
DESIGNED_REFUSALS = frozenset({"NOT_ELIGIBLE", "VERIFICATION_REQUIRED"})
# The fields every server must agree on for the same order (timestamps aside: the floor
# generates its copy of the orders a moment after the stand-in does).
COMPARED = ("number", "financialStatus", "fulfillmentStatus", "total", "lineItems")


def _lookup_problems(number: int, answer: Any) -> list[str]:
    if "errors" in answer:
        return [f"#{number}: errors {answer['errors']}"]
    payload = answer["data"]["orderStatus"]
    if payload["userErrors"]:
        return [f"#{number}: userErrors {payload['userErrors']}"]
    if payload["order"]["number"] != f"#{number}":
        return [f"#{number}: answered for {payload['order']['number']}"]
    return []


def _mutation_problems(kind: str, number: int, answer: Any) -> list[str]:
    if "errors" in answer:
        return [f"{kind} #{number}: errors {answer['errors']}"]
    (payload,) = answer["data"].values()
    codes = {error["code"] for error in payload["userErrors"]}
    if payload["request"] is None and not codes <= DESIGNED_REFUSALS:
        return [f"{kind} #{number}: userErrors {payload['userErrors']}"]
    return []


def check_answers(server: Server, *, kinds: set[str], numbers: list[int]) -> list[str]:
    """What is wrong with `server`'s answers for these orders; empty when nothing is."""
    problems = []
    for number in numbers:
        problems += _lookup_problems(number, post_json(server.url, body("L", number)))
        for kind in sorted(kinds - {"L"}):
            answer = post_json(server.url, body(kind, number))
            problems += _mutation_problems(kind, number, answer)
    return problems


def compare_orders(servers: list[Server], *, numbers: list[int]) -> list[str]:
    """Where the servers' lookups of the same orders disagree on what the order holds."""
    problems = []
    for number in numbers:
        seen: dict[str, dict[str, Any]] = {}
        for server in servers:
            order = post_json(server.url, body("L", number))["data"]["orderStatus"]["order"]
            seen[server.name] = {field: order[field] for field in COMPARED} if order else {}
        if len({repr(fields) for fields in seen.values()}) > 1:
            problems.append(f"#{number}: the servers disagree: {seen}")
    return problems
