"""The public GraphQL schema, its safety extensions, and the SDL we commit."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from service.api import rate_limited
from service.api.context import Context
from service.api.mutations import Mutation
from service.api.queries import Query
from service.api.validation import DocumentRules, validation_rules

logger = logging.getLogger("ordergate.api")


def _is_unexpected(error: GraphQLError) -> bool:
    # Validation and syntax errors carry no original error and stay readable for developers;
    # a rate limit becomes HTTP 429 at the endpoint; anything else raised while resolving is
    # a bug or an outage and is masked.
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    return not rate_limited.is_rate_limited(error)


class _RequestRules(DocumentRules, MaskErrors):
    """The document's limits and caches, then unexpected errors masked: one extension, so a
    request builds one object and runs one context manager per lifecycle step."""

    def __init__(self, *, production: bool) -> None:
        MaskErrors.__init__(self, should_mask_error=_is_unexpected)
        DocumentRules.__init__(self, validation_rules(production=production))

    def _process_result(self, result: object) -> None:
        # MaskErrors tests every result against a runtime-checkable Protocol, a measurable
        # share of a cached lookup; reading the attribute is the same test, cheaply.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


class _Schema(strawberry.Schema):
    """Strawberry's schema with ordergate's error logging.

    Strawberry logs every error with the document's text at level error; documents carry
    customers' contacts as literals and are attacker text. Bugs and outages are logged here
    by exception type alone; a client's mistake is noted on the request's access-log line.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors by type; note client mistakes for the access log."""
        for error in errors:
            if _is_unexpected(error):
                kind = type(error.original_error).__name__
                logger.error("unexpected error while resolving", extra={"kind": kind})
        context = execution_context.context if execution_context else None
        mistakes = [error for error in errors if error.original_error is None]
        if mistakes and isinstance(context, Context):
            context.record.note("document", "INVALID_DOCUMENT")


def build_schema(*, production: bool) -> strawberry.Schema:
    """The schema served on `/graphql`; production hides introspection and field suggestions."""
    return _Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: _RequestRules(production=production)],
        config=StrawberryConfig(disable_field_suggestions=production),
    )


def export_sdl() -> str:
    """The SDL committed as schema/ordergate.graphql."""
    return build_schema(production=False).as_str() + "\n"


if __name__ == "__main__":
    print(export_sdl(), end="")  # noqa: T201
