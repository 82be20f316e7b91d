"""The allow-list of Admin documents: one named operation per file, validated at start-up.

Some documents are for the operator's CLI only (CONTRACT §3: `webhookSubscriptionCreate`):
the registry the service runs with leaves them out, so no request path can send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import graphql

from service.admin.errors import OperationNotAllowed
from service.paths import ADMIN_OPERATIONS_DIR, ADMIN_SLICE

# Sent only by `ordergate shopify webhooks`, never by the running service.
OPERATOR_ONLY = frozenset({"WebhookSubscriptionCreate", "WebhookSubscriptions"})


class InvalidOperationDocument(ValueError):
    """An operation file that must not be sent; start-up stops with the file named."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One Admin GraphQL document, sent verbatim with its `operationName`."""

    name: str
    document: str
    is_mutation: bool


def _parse(path: Path, schema: graphql.GraphQLSchema) -> Operation:
    document = path.read_text(encoding="utf-8")
    try:
        ast = graphql.parse(document)
    except graphql.GraphQLError as error:
        raise InvalidOperationDocument(f"{path.name}: {error.message}") from None
    definitions = [d for d in ast.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    if len(definitions) != 1 or len(ast.definitions) != 1:
        raise InvalidOperationDocument(f"{path.name}: must hold exactly one operation")
    definition = definitions[0]
    if definition.name is None or definition.name.value != path.stem:
        raise InvalidOperationDocument(f"{path.name}: the operation must be named {path.stem}")
    problems = graphql.validate(schema, ast)
    if problems:
        raise InvalidOperationDocument(f"{path.name}: {problems[0].message}")
    return Operation(
        name=path.stem,
        document=document,
        is_mutation=definition.operation is graphql.OperationType.MUTATION,
    )


class OperationRegistry:
    """The operations ordergate may send, by name."""

    def __init__(self, operations: Mapping[str, Operation]) -> None:
        self._operations = MappingProxyType(dict(operations))

    @classmethod
    def load(
        cls,
        directory: Path = ADMIN_OPERATIONS_DIR,
        slice_path: Path = ADMIN_SLICE,
        *,
        operator: bool = False,
    ) -> OperationRegistry:
        """Reads and validates every `*.graphql` in `directory` against the Admin slice.

        Every document is validated; the OPERATOR_ONLY ones are allowed only with `operator`.
        """
        schema = graphql.build_schema(slice_path.read_text(encoding="utf-8"))
        paths = sorted(directory.glob("*.graphql"))
        if not paths:
            raise InvalidOperationDocument(f"{directory}: no operation documents")
        parsed = {path.stem: _parse(path, schema) for path in paths}
        return cls(
            {name: op for name, op in parsed.items() if operator or name not in OPERATOR_ONLY}
        )

    def get(self, name: str) -> Operation:
        """The operation called `name`; OperationNotAllowed when there is none."""
        try:
            return self._operations[name]
        except KeyError:
            raise OperationNotAllowed(name) from None

    @property
    def names(self) -> frozenset[str]:
        """Every allowed operation name."""
        return frozenset(self._operations)
