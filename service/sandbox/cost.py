"""Shopify's calculated query cost and leaky bucket, as documented for the GraphQL Admin API.

Scalars and enums cost 0, objects 1, connections 2 plus `first`/`last` times one node,
lists of objects their `first` times one item, and each mutation field 10. The requested
cost is the static maximum; the actual cost counts what the response really holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values

MUTATION_COST = 10
MAX_QUERY_COST = 1000
CONNECTION_COST = 2
# Stands for "no response yet": the walk computes the requested (static) cost.
_STATIC: Any = object()


class CostCalculator:
    """Walks one operation's selections against the schema, statically or over its result."""

    def __init__(
        self,
        *,
        operation: OperationDefinitionNode,
        root: GraphQLObjectType,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self._operation = operation
        self._root = root
        self._fragments = fragments
        self._variables = variables
        self._requested: int | None = None

    def requested(self) -> int:
        """The most the operation can cost, before running it."""
        # Asked before and after running; the walk is not free, and its answer never changes.
        if self._requested is None:
            self._requested = self._root_cost(_STATIC)
        return self._requested

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """What the operation cost given the data it returned; never more than requested."""
        return min(self._root_cost(data if data is not None else {}), self.requested())

    def _root_cost(self, data: Any) -> int:
        if self._operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(list(self._fields(self._operation.selection_set)))
        return self._selection_cost(self._operation.selection_set, self._root, data, None)

    def _fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields.extend(self._fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                fields.extend(self._fields(fragment.selection_set))
        return fields

    def _selection_cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLObjectType,
        value: Any,
        inherited_size: int | None,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in self._fields(selection_set):
            if node.name.value.startswith("__"):
                continue
            definition = parent.fields[node.name.value]
            key = node.alias.value if node.alias else node.name.value
            child = _STATIC if value is _STATIC else (value or {}).get(key)
            total += self._field_cost(node, definition, child, inherited_size)
        return total

    def _field_cost(
        self, node: FieldNode, definition: GraphQLField, value: Any, inherited_size: int | None
    ) -> int:
        output, is_list = _unwrap(definition.type)
        if not isinstance(output, GraphQLObjectType):
            return 0
        if is_list:
            size = self._size(definition, node) or inherited_size or 1
            return self._list_cost(node, output, value, size)
        if output.name.endswith("Connection"):
            size = self._size(definition, node) or 1
            return CONNECTION_COST + self._selection_cost(node.selection_set, output, value, size)
        return 1 + self._selection_cost(node.selection_set, output, value, None)

    def _list_cost(self, node: FieldNode, item: GraphQLObjectType, value: Any, size: int) -> int:
        static = size * (1 + self._selection_cost(node.selection_set, item, _STATIC, None))
        if value is _STATIC:
            return static
        items = value or []
        spent = sum(
            1 + self._selection_cost(node.selection_set, item, each, None) for each in items
        )
        return min(spent, static)

    def _size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        if "first" not in definition.args and "last" not in definition.args:
            return None
        arguments = get_argument_values(definition, node, self._variables)
        size = arguments.get("first") or arguments.get("last")
        return int(size) if size is not None else None


def _unwrap(output: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    is_list = False
    while isinstance(output, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(output, GraphQLList)
        output = output.of_type
    return output, is_list


class LeakyBucket:
    """Points that drain by each request's cost and refill at a steady rate up to a maximum."""

    def __init__(
        self,
        *,
        size: float,
        restore_rate: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self._monotonic = monotonic
        self._level = size
        self._at = monotonic()

    def available(self) -> float:
        """Points available now."""
        now = self._monotonic()
        self._level = min(self.size, self._level + (now - self._at) * self.restore_rate)
        self._at = now
        return self._level

    def take(self, cost: float) -> bool:
        """Deduct `cost` when the bucket holds that much; False (and nothing taken) otherwise."""
        if cost > self.available():
            return False
        self._level -= cost
        return True

    def refund(self, points: float) -> None:
        """Give back points charged but not spent."""
        self._level = min(self.size, self.available() + points)

    def status(self) -> dict[str, float]:
        """Shopify's `throttleStatus` object."""
        return {
            "maximumAvailable": self.size,
            "currentlyAvailable": round(self.available(), 1),
            "restoreRate": self.restore_rate,
        }
