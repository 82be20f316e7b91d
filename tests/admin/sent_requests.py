"""What the scripted Admin server received, and whether it fits the Admin slice."""

from __future__ import annotations

from typing import Any

import graphql

from service.paths import ADMIN_SLICE
from tests.admin.scripted_server import GRAPHQL_PATH, ScriptedServer


def sent(server: ScriptedServer) -> dict[str, Any]:
    """The JSON body of the only Admin request the server received."""
    (request,) = server.requests_to(GRAPHQL_PATH)
    body: dict[str, Any] = request.json()
    return body


def assert_valid_variables(body: dict[str, Any]) -> None:
    """The variables coerce against the operation's definitions in the Admin slice."""
    schema = graphql.build_schema(ADMIN_SLICE.read_text(encoding="utf-8"))
    (definition,) = graphql.parse(body["query"]).definitions
    assert isinstance(definition, graphql.OperationDefinitionNode)
    coerced = graphql.get_variable_values(
        schema, definition.variable_definitions or (), body["variables"]
    )
    assert not isinstance(coerced, list), [error.message for error in coerced]
