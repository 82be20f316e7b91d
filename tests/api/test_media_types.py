"""Which media type answers which `Accept` header (GraphQL over HTTP), as a pure function."""

from __future__ import annotations

import pytest

from service.api.media_types import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    response_media_type,
    response_media_type_for,
)


@pytest.mark.parametrize("accept", [None, "", "   "])
def test_no_accept_header_is_a_legacy_client(accept: str | None) -> None:
    assert response_media_type(accept) == JSON


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html,*/*;q=0.8"])
def test_a_wildcard_gets_application_json(accept: str) -> None:
    assert response_media_type(accept) == JSON


def test_the_spec_recommended_header_gets_the_new_type() -> None:
    accept = "application/graphql-response+json, application/json;q=0.9"
    assert response_media_type(accept) == GRAPHQL_RESPONSE_JSON


def test_a_higher_quality_wins_whatever_the_order() -> None:
    accept = "application/graphql-response+json;q=0.5, application/json"
    assert response_media_type(accept) == JSON


def test_both_named_at_equal_quality_gets_the_new_type() -> None:
    accept = "application/json, application/graphql-response+json"
    assert response_media_type(accept) == GRAPHQL_RESPONSE_JSON


def test_a_named_type_beats_a_wildcard_of_equal_quality() -> None:
    assert response_media_type("*/*, application/graphql-response+json") == GRAPHQL_RESPONSE_JSON


def test_q_zero_refuses_a_type_even_under_a_wildcard() -> None:
    assert response_media_type("application/graphql-response+json;q=0, */*") == JSON
    assert response_media_type("application/json;q=0, */*;q=0.1") == GRAPHQL_RESPONSE_JSON


def test_media_types_and_parameters_are_case_insensitive() -> None:
    accept = "Application/GraphQL-Response+JSON; Charset=utf-8; Q=1"
    assert response_media_type(accept) == GRAPHQL_RESPONSE_JSON


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", "application/json;q=0", "nonsense", "text/*"]
)
def test_a_header_that_accepts_neither_type_is_not_acceptable(accept: str) -> None:
    assert response_media_type(accept) is None


def test_several_accept_lines_are_one_list() -> None:
    lines = ["text/html", "application/graphql-response+json"]
    assert response_media_type_for(lines) == GRAPHQL_RESPONSE_JSON
    assert response_media_type_for([]) == JSON
