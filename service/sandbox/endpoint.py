"""One Admin GraphQL request, end to end: parse, validate, cost, throttle, execute, answer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast

from service.sandbox.cost import MAX_QUERY_COST, CostCalculator, LeakyBucket
from service.sandbox.resolvers import SandboxRoot
from service.sandbox.store import ShopStore

RATE_LIMITS_DOCS = "https://shopify.dev/api/usage/rate-limits"
_CHECKED_DOCUMENTS = 64
Payload = dict[str, Any]

# Shopify reports validation failures with its own codes; these are the ones for the rules
# a client of the slice is likely to break.
_RULE_CODES = {
    "FieldsOnCorrectTypeRule": "undefinedField",
    "KnownArgumentNamesRule": "argumentNotAccepted",
    "ProvidedRequiredArgumentsRule": "missingRequiredArguments",
    "VariablesInAllowedPositionRule": "variableMismatch",
    "ValuesOfCorrectTypeRule": "argumentLiteralsIncompatible",
    "KnownTypeNamesRule": "undefinedType",
    "ScalarLeafsRule": "selectionMismatch",
    "NoUnusedVariablesRule": "variableNotUsed",
    "NoUndefinedVariablesRule": "variableNotDefined",
    "KnownFragmentNamesRule": "useAndDefineFragment",
    "NoUnusedFragmentsRule": "useAndDefineFragment",
}


@dataclass(frozen=True)
class SandboxCall:
    """One GraphQL request the sandbox received with a valid token."""

    operation_name: str | None
    variables: Mapping[str, Any]
    is_mutation: bool
    requested_cost: int
    at: datetime
    executed: bool = field(default=False)
    # What the bucket was finally charged; None when the call did not run.
    actual_cost: int | None = None


@dataclass(frozen=True)
class Answer:
    """The HTTP status and JSON body to send, and the call to record."""

    status: int
    body: Payload
    call: SandboxCall | None = None


class AdminEndpoint:
    """Runs Admin GraphQL requests against one shop's store and leaky bucket."""

    def __init__(
        self,
        *,
        schema: GraphQLSchema,
        store: ShopStore,
        bucket: LeakyBucket,
        clock: Callable[[], datetime],
    ) -> None:
        self._schema = schema
        self._store = store
        self._bucket = bucket
        self._clock = clock
        # Clients send the same few documents over and over, and parsing and validating one
        # costs several milliseconds: without this a load test measures the sandbox, not the
        # client. The outcome depends on the text alone, so caching it changes no answer.
        self._checked = functools.lru_cache(maxsize=_CHECKED_DOCUMENTS)(self._check)

    def _check(self, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
        document = parse(query)
        return document, validate(self._schema, document)

    def handle(self, body: Any) -> Answer:
        """Answer one request body the way Shopify's Admin API would."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return Answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
        variables = body.get("variables") or {}
        try:
            document, errors = self._checked(body["query"])
        except GraphQLError as error:
            return self._refusal([_shaped(error, "PARSE_ERROR")])
        if errors:
            return self._refusal(self._coded(document, errors))
        operation = get_operation_ast(document, body.get("operationName"))
        if operation is None:
            message = "An operation name is required when the document holds several."
            return self._refusal([{"message": message, "extensions": {"code": "OPERATION_NAME"}}])
        return self._run(document, operation, variables if isinstance(variables, dict) else {})

    def _run(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: Payload
    ) -> Answer:
        coerced = get_variable_values(self._schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._refusal([_shaped(error, "INVALID_VARIABLE") for error in coerced])
        is_mutation = operation.operation == OperationType.MUTATION
        root = self._schema.mutation_type if is_mutation else self._schema.query_type
        assert root is not None  # the slice defines both
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        calculator = CostCalculator(
            operation=operation, root=root, fragments=fragments, variables=coerced
        )
        requested = calculator.requested()
        name = operation.name.value if operation.name else None
        call = SandboxCall(name, variables, is_mutation, requested, self._clock())
        if requested > MAX_QUERY_COST:
            cost = {"cost": self._cost(requested, None)}
            return Answer(200, {"errors": [_max_cost_error(requested)], "extensions": cost}, call)
        if not self._bucket.take(requested):
            return Answer(200, self._throttled(requested), call)
        result = execute_sync(
            self._schema,
            document,
            root_value=SandboxRoot(self._store),
            variable_values=variables,
            operation_name=name,
        )
        actual = calculator.actual(result.data)
        self._bucket.refund(requested - actual)
        payload: Payload = {"data": result.data}
        if result.errors:
            payload["errors"] = [_shaped(error, "INTERNAL_SERVER_ERROR") for error in result.errors]
        payload["extensions"] = {"cost": self._cost(requested, actual)}
        return Answer(200, payload, replace(call, executed=True, actual_cost=actual))

    def _cost(self, requested: int, actual: int | None) -> Payload:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self._bucket.status(),
        }

    def _throttled(self, requested: int) -> Payload:
        error = {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOCS},
        }
        return {"errors": [error], "extensions": {"cost": self._cost(requested, None)}}

    def _refusal(self, errors: list[Payload]) -> Answer:
        # Nothing ran, so nothing is charged.
        return Answer(200, {"errors": errors, "extensions": {"cost": self._cost(0, 0)}})

    def _coded(self, document: DocumentNode, errors: list[GraphQLError]) -> list[Payload]:
        codes: dict[str, str] = {}
        for rule in specified_rules:
            code = _RULE_CODES.get(rule.__name__)
            if code is not None:
                for error in validate(self._schema, document, [rule]):
                    codes.setdefault(error.message, code)
        return [
            _shaped(error, codes.get(error.message, "GRAPHQL_VALIDATION_FAILED"))
            for error in errors
        ]


def _shaped(error: GraphQLError, code: str) -> Payload:
    shaped: Payload = {"message": error.message}
    if error.locations:
        shaped["locations"] = [{"line": at.line, "column": at.column} for at in error.locations]
    if error.path:
        shaped["path"] = list(error.path)
    shaped["extensions"] = {"code": code}
    return shaped


def _max_cost_error(requested: int) -> Payload:
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit "
        f"({MAX_QUERY_COST}). See {RATE_LIMITS_DOCS} for how the cost of a query is calculated."
    )
    extensions = {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST}
    return {"message": message, "extensions": extensions}
