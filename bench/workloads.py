"""The storefront traffic of the benchmark: its three documents and the W1, W2, W3 request mixes.

Requests are drawn here, in Python, with a fixed seed, and handed to wrk as a Lua data file,
so every server meets exactly the same sequence.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

from service.sandbox.generated import GENERATED_FIRST_NUMBER, generated_contact

# What an order page asks for: everything the public OrderStatus holds.
LOOKUP = """query OrderPage($n: String!, $c: String!) {
  orderStatus(orderNumber: $n, contact: $c) {
    order {
      number placedAt cancelledAt financialStatus fulfillmentStatus returnStatus
      total { amount currencyCode }
      lineItems { title variantTitle quantity }
      shipments {
        carrier trackingNumber trackingUrl status shippedAt estimatedDeliveryAt deliveredAt
      }
      cancellation { eligible reason until from }
      notReceived { eligible reason until from }
      requests { id kind status submittedAt message }
    }
    userErrors { code message }
  }
}"""
CANCEL = """mutation Cancel($n: String!, $c: String!) {
  requestCancellation(input: {orderNumber: $n, contact: $c, reason: CHANGED_MIND}) {
    request { id kind status message }
    userErrors { code reason message }
  }
}"""
REPORT = """mutation Report($n: String!, $c: String!) {
  reportNotReceived(input: {orderNumber: $n, contact: $c}) {
    request { id kind status message }
    userErrors { code reason message }
  }
}"""
DOCUMENTS = {"L": LOOKUP, "C": CANCEL, "R": REPORT}
PICKS = 20_000
ZIPF_EXPONENT = 1.0


@dataclass(frozen=True)
class Workload:
    """One request mix: its name, what it stands for, and which kinds of request it sends."""

    name: str
    title: str
    kinds: frozenset[str]

    @property
    def lookups_only(self) -> bool:
        """Whether every request is an orderStatus lookup."""
        return self.kinds == {"L"}


W1 = Workload("W1", "hot: Zipf over 1,000 orders", frozenset("L"))
W2 = Workload("W2", "cold: uniform over all orders", frozenset("L"))
W3 = Workload("W3", "mixed: 90% lookups, 5% cancellations, 5% reports", frozenset("LCR"))
WORKLOADS = {workload.name: workload for workload in (W1, W2, W3)}

Pick = tuple[str, int]  # (kind, order number)


def picks(workload: Workload, *, orders: int, hot_orders: int, seed: int = 15) -> list[Pick]:
    """The request sequence of a workload; order numbers are the stand-in's generated ones."""
    rng = random.Random(seed)
    hot = _zipf(rng, hot_orders, PICKS)
    if workload is W1:
        return [("L", GENERATED_FIRST_NUMBER + rank) for rank in hot]
    if workload is W2:
        return [("L", GENERATED_FIRST_NUMBER + rng.randrange(orders)) for _ in range(PICKS)]
    mixed: list[Pick] = []
    for rank in hot:
        roll = rng.random()
        if roll < 0.90:
            mixed.append(("L", GENERATED_FIRST_NUMBER + rank))
        else:
            kind = "C" if roll < 0.95 else "R"
            mixed.append((kind, GENERATED_FIRST_NUMBER + rng.randrange(orders)))
    return mixed


def _zipf(rng: random.Random, size: int, count: int) -> list[int]:
    """`count` ranks in [0, size), rank r drawn with weight 1 / (r + 1) ** ZIPF_EXPONENT."""
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(size)))
    return rng.choices(range(size), cum_weights=cumulative, k=count)


def body(kind: str, number: int) -> dict[str, object]:
    """The JSON body of one request, as wrk sends it."""
    variables = {"n": f"#{number}", "c": generated_contact(number)}
    return {"query": DOCUMENTS[kind], "variables": variables}


def write_wrk_data(path: Path, sequence: list[Pick]) -> Path:
    """The body parts and the request sequence as tab-separated lines for wrk's script.

    A body is `head[kind] .. number .. middle .. contact .. tail`: the documents go verbatim
    and only the variables change. JSON escapes tabs and newlines, so the fields never hold one.
    """
    lines = []
    for kind, document in DOCUMENTS.items():
        head = json.dumps({"query": document})[:-1] + ', "variables": {"n": "'
        lines.append(f"head\t{kind}\t{head}")
    lines += ['middle\t", "c": "', 'tail\t"}}']
    lines += [f"req\t{kind}\t#{number}\t{generated_contact(number)}" for kind, number in sequence]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
