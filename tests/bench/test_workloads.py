"""The benchmark's request mixes: the orders they ask for and how often."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bench.workloads import W1, W2, W3, body, picks, write_wrk_data
from service.sandbox.generated import GENERATED_FIRST_NUMBER


def test_w1_asks_for_hot_orders_only_the_first_most_often() -> None:
    counts = Counter(number for _, number in picks(W1, orders=20_000, hot_orders=1_000))

    assert set(counts) <= set(range(GENERATED_FIRST_NUMBER, GENERATED_FIRST_NUMBER + 1_000))
    (hottest, _), *_ = counts.most_common(1)
    assert hottest == GENERATED_FIRST_NUMBER


def test_w2_spreads_over_every_order() -> None:
    numbers = {number for _, number in picks(W2, orders=20_000, hot_orders=1_000)}

    assert len(numbers) > 10_000
    assert max(numbers) < GENERATED_FIRST_NUMBER + 20_000


def test_w3_is_nine_lookups_to_one_mutation() -> None:
    kinds = Counter(kind for kind, _ in picks(W3, orders=20_000, hot_orders=1_000))

    total = sum(kinds.values())
    assert 0.88 < kinds["L"] / total < 0.92
    assert 0.04 < kinds["C"] / total < 0.06
    assert 0.04 < kinds["R"] / total < 0.06


def test_the_same_workload_is_the_same_sequence() -> None:
    assert picks(W3, orders=500, hot_orders=50) == picks(W3, orders=500, hot_orders=50)


def test_wrk_data_rebuilds_each_request_body_as_wrk_lua_does(tmp_path: Path) -> None:
    data = write_wrk_data(tmp_path / "w.tsv", [("C", GENERATED_FIRST_NUMBER)])

    heads, parts, requests = {}, {}, []
    for line in data.read_text(encoding="utf-8").splitlines():
        tag, rest = line.split("\t", 1)
        if tag == "head":
            kind, text = rest.split("\t", 1)
            heads[kind] = text
        elif tag == "req":
            requests.append(rest.split("\t"))
        else:
            parts[tag] = rest
    ((kind, number, contact),) = requests
    rebuilt = heads[kind] + number + parts["middle"] + contact + parts["tail"]

    assert json.loads(rebuilt) == body("C", GENERATED_FIRST_NUMBER)
