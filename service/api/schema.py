"""The public GraphQL schema, its safety extensions, and the SDL we commit."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from service.api import rate_limited
from service.api.mutations import Mutation
from service.api.queries import Query
from service.api.validation import schema_extensions


def _is_unexpected(error: GraphQLError) -> bool:
    # Validation and syntax errors carry no original error and stay readable for developers;
    # a rate limit becomes HTTP 429 at the endpoint; anything else raised while resolving is
    # a bug or an outage and is masked.
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    return not rate_limited.is_rate_limited(error)


def build_schema(*, production: bool) -> strawberry.Schema:
    """The schema served on `/graphql`; production hides introspection and field suggestions."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        *schema_extensions(),
        lambda: MaskErrors(should_mask_error=_is_unexpected),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


def export_sdl() -> str:
    """The SDL committed as schema/ordergate.graphql."""
    return build_schema(production=False).as_str() + "\n"


if __name__ == "__main__":
    print(export_sdl(), end="")  # noqa: T201
