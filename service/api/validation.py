"""Limits on what a GraphQL document may be: depth, aliases, tokens, one mutation field.

The rules are built once per process so the validation cache keeps working.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, cast

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
    parse,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.schema.schema import validate_document

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


def validation_rules(*, production: bool = False) -> tuple[type[ASTValidationRule], ...]:
    """The document limits, as rule classes made once per process; production adds the
    refusal of introspection.

    The validation cache is keyed by the rule classes; rules made per request (as
    `QueryDepthLimiter(...)` and `MaxAliasesLimiter(...)` do) never hit it.
    """
    return _production_rules() if production else _rules()


@functools.cache
def _rules() -> tuple[type[ASTValidationRule], ...]:
    return (depth_validator(MAX_DEPTH, None, None), alias_validator(MAX_ALIASES), SingleRootField)


@functools.cache
def _production_rules() -> tuple[type[ASTValidationRule], ...]:
    return (*_rules(), NoSchemaIntrospectionCustomRule)


# Storefronts send the same few documents: each distinct text is parsed, and each parsed
# document validated, once per process (bounded: attacker text cannot grow them).
_parse = functools.lru_cache(maxsize=_CACHE_SIZE)(parse)
_validate = functools.lru_cache(maxsize=_CACHE_SIZE)(validate_document)


class DocumentRules(SchemaExtension):
    """The token limit, the document rules, and the parse and validation caches, in one
    extension.

    Strawberry's MaxTokensLimiter, AddValidationRules, DisableIntrospection, ParserCache and
    ValidationCache do the same as five extensions; each extension costs every request an
    object and a context manager per lifecycle step, a measurable share of a cached lookup.
    """

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.validation_rules = rules

    def on_operation(self) -> Iterator[None]:
        """Set the token limit and the rules; then whatever a subclass adds (masking)."""
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = (*context.validation_rules, *self.validation_rules)
        yield from cast(Iterator[None], super().on_operation())

    def on_parse(self) -> Iterator[None]:
        """The document parsed once per distinct text (and token limit)."""
        context = self.execution_context
        context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        """The document validated once per distinct document and rule set."""
        context = self.execution_context
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


def schema_extensions(*, production: bool = False) -> list[Callable[[], SchemaExtension]]:
    """Factories for `strawberry.Schema(extensions=...)`: the document's limits and caches.

    Each factory only wraps objects made once, so per-request construction is trivial.
    """
    rules = validation_rules(production=production)
    return [lambda: DocumentRules(rules)]
