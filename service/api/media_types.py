"""Which media type a GraphQL response is written in, from the request's `Accept` header
(GraphQL over HTTP, "Accept" and "Status Codes"). Pure: a header in, a media type out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"
# A wildcard (`*/*`, `application/*`) or a missing header gets `application/json`, the type
# every client, legacy ones included, can read; a client that wants the new type names it.
_SERVED: Final = (JSON, GRAPHQL_RESPONSE_JSON)


def _quality(parameters: list[str]) -> float | None:
    """The `q` of a media range (1 when absent); None when it is not a number in 0..1."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0


def _ranges(accept: str) -> list[tuple[str, float]]:
    """`type/subtype` (lower case) and its quality, for each well-formed range of the header."""
    ranges = []
    for item in accept.split(","):
        media_range, *parameters = item.split(";")
        media_range = media_range.strip().lower()
        quality = _quality(parameters)
        if media_range.count("/") == 1 and quality is not None:
            ranges.append((media_range, quality))
    return ranges


def _specificity(media_range: str, media_type: str) -> int | None:
    """How closely `media_range` names `media_type`: 2 exactly, 1 `type/*`, 0 `*/*`;
    None when it does not match it at all."""
    if media_range == media_type:
        return 2
    kind = media_type.split("/")[0]
    if media_range == f"{kind}/*":
        return 1
    return 0 if media_range == "*/*" else None


def _weight(ranges: list[tuple[str, float]], media_type: str) -> tuple[float, int]:
    """The quality the header gives `media_type` (RFC 9110 §12.5.1: the most specific range
    that matches decides), and how specific that range was; (0, -1) when none matches."""
    best: tuple[int, float] | None = None
    for media_range, quality in ranges:
        specificity = _specificity(media_range, media_type)
        if specificity is None:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, quality)
    return (0.0, -1) if best is None else (best[1], best[0])


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer in, or None when the header accepts none we serve (406).

    No header, or a blank one, is a legacy client: `application/json`. Otherwise the highest
    quality wins; at equal quality a type the client named beats one it reached by wildcard,
    and when it named both, `application/graphql-response+json`, the spec's own type. A
    wildcard alone gets `application/json`.
    """
    if accept is None or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    weighed = []
    for preference, media_type in enumerate(_SERVED):
        quality, specificity = _weight(ranges, media_type)
        named_new_type = specificity == 2 and media_type == GRAPHQL_RESPONSE_JSON
        # Still tied (both reached by the same wildcard): the first of _SERVED, by its place
        # there rather than by how the two names happen to sort.
        weighed.append((quality, specificity, named_new_type, -preference, media_type))
    quality, *_, chosen = max(weighed)
    return chosen if quality > 0 else None


def response_media_type_for(accept_lines: Sequence[str]) -> str | None:
    """`response_media_type` of a request's Accept lines: several mean the same as one
    joined with commas (RFC 9110 §5.3); none is no header."""
    return response_media_type(", ".join(accept_lines) or None)
