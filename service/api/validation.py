"""Limits on what a GraphQL document may be: depth, aliases, tokens, one mutation field.

The rules are built once per process so Strawberry's validation cache keeps working.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
_CACHE_SIZE = 256


class SingleRootField(ValidationRule):
    """An operation may select one root field: one lookup or one action per request.

    Limits count HTTP requests; were sixteen aliased lookups one request, one address could
    test sixteen orders, lock sixteen, and spend sixteen Admin calls for one count.
    Introspection (`__schema`, `__type`, `__typename`) is not counted.
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        """Count the root fields of the operation, through fragments."""
        if self._root_fields(node.selection_set, seen=frozenset()) <= 1:
            return
        if node.operation is OperationType.MUTATION:
            message = "A request may run at most one mutation."
        else:
            message = "A request may look up one order: send one orderStatus per request."
        self.report_error(GraphQLError(message, node))

    def _root_fields(self, selections: SelectionSetNode, *, seen: frozenset[str]) -> int:
        count = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                count += not selection.name.value.startswith("__")
            elif isinstance(selection, InlineFragmentNode):
                count += self._root_fields(selection.selection_set, seen=seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is not None and name not in seen:
                    count += self._root_fields(fragment.selection_set, seen=seen | {name})
        return count


@functools.cache
def validation_rules() -> tuple[type[ASTValidationRule], ...]:
    """The document limits, as rule classes made once per process.

    The validation cache is keyed by the rule classes; rules made per request (as
    `QueryDepthLimiter(...)` and `MaxAliasesLimiter(...)` do) never hit it.
    """
    return (
        depth_validator(MAX_DEPTH, None, None),
        alias_validator(MAX_ALIASES),
        SingleRootField,
    )


def schema_extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories for `strawberry.Schema(extensions=...)`: limits, then parse and validation caches.

    Each factory only wraps objects made once, so per-request construction is trivial.
    """
    rules = list(validation_rules())
    return [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=_CACHE_SIZE),
        lambda: ValidationCache(maxsize=_CACHE_SIZE),
    ]
