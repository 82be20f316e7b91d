"""Schemathesis in GraphQL mode against a running production `ordergate serve` (real Postgres,
Redis and the sandbox shop in a process of its own): a few hundred generated documents, built
from the committed SDL, and not one answer in the 5xx range."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case

from bench.processes import Server
from bench.servers import ShopSettings, fresh_database, ordergate, shop

SDL = Path(__file__).parents[2] / "schema" / "ordergate.graphql"
# Production turns introspection off, so the schema comes from the committed SDL, which a
# contract test keeps identical to the served one.
schema = schemathesis.graphql.from_path(SDL)
# Three root fields at 100 each: 300 requests, about ten seconds on loopback.
EXAMPLES_PER_FIELD = 100


@pytest.fixture(scope="module")
def server(
    postgres_server_dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    # Limits far out of the way (bench.servers): 429s would hide what the generator reaches.
    logs = tmp_path_factory.mktemp("generated")
    stand_in = ShopSettings(orders=200, latency_ms=0, jitter_ms=0, unlimited_budget=True)
    with (
        shop(stand_in, logs=logs) as announced,
        fresh_database(postgres_server_dsn) as database,
        ordergate(database=database, redis=redis_url, shop=announced, logs=logs) as running,
    ):
        yield running


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_FIELD,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a 5xx fails the test as found
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_document_gets_a_server_error(case: Case[Any], server: Server) -> None:
    response = case.call(base_url=server.url, timeout=10)
    assert response.status_code < 500, (response.status_code, case.body, response.text)
