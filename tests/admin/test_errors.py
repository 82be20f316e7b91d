"""UpstreamUnavailable's text is ours: fixed per kind, with only identifiers and numbers added."""

from __future__ import annotations

import pytest

from service.admin.errors import ErrorKind, UpstreamUnavailable, safe_codes


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_kind_has_a_fixed_description(kind: ErrorKind) -> None:
    error = UpstreamUnavailable(kind)

    assert str(error)
    assert error.args == (str(error),)


def test_description_names_operation_status_and_codes() -> None:
    error = UpstreamUnavailable(
        ErrorKind.GRAPHQL_ERRORS, operation="OrderLookup", status=502, codes=["ACCESS_DENIED"]
    )

    assert "OrderLookup" in str(error)
    assert "HTTP 502" in str(error)
    assert "ACCESS_DENIED" in str(error)


def test_safe_codes_keep_only_identifiers() -> None:
    codes = ["THROTTLED", "Access denied for shpat_abc", None, 42, "lower_case", "A" * 65]

    assert safe_codes(codes) == ("THROTTLED",)
