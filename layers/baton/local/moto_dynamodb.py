"""Embedded moto's DynamoDB made flat and linear for long local runs (``baton replay``, the demo, the tests).

Four of moto's costs grow with the table, which a replay of thousands of requests turns into minutes of CPU and
gigabytes of memory (measured on moto 5.2 with tracemalloc: a 60-request replay held 38 MB of table copies, and a
1,018-request one passed 11 GB):

- ``TransactWriteItems`` backs up every table it touches with ``copy.deepcopy`` before it writes, so that it can
  put the copy back if the transaction is cancelled. Each copy costs the whole table, and
- every moto model instance is appended to its class's ``instances_tracked`` list (kept for moto server's
  dashboard, which the embedded runtime never shows), so every one of those table copies, and every item version
  ever written, stays in memory until moto is reset.
- ``Query`` sorts every item of the table by its primary key before it filters on the key condition, GSI queries
  included: the sweeper's eight shard queries cost the whole table on every sweep.
- ``Scan`` sorts every item of the table by its primary key, comparing moto's key objects, which cast both values
  at every comparison: the sweeper's hourly segment of the fleet's histogram cost more than everything else a
  7-day replay of a thousand requests did.

``install()`` changes exactly these four, and nothing that a request can observe:

- a transaction backs up the items it touches (and puts those back if it is cancelled) instead of whole tables:
  an item a Put, Delete or ConditionCheck touches as it is, one an update that changes no value in place touches
  with a copy of its attributes, any other a deep copy;
- DynamoDB models are not tracked for the dashboard;
- a query starts from the items that can match its key condition: the partition's items for a table query, and
  for a GSI query the items whose index key has the queried value, from a membership map kept up to date on every
  write (and of those, for a forward query with a sort key bound ``<`` or ``<=``, the items up to the bound and
  those at the first sort key value past it: ``_up_to_the_bound``). moto's own query code then filters, sorts,
  pages and projects them as before.
- a scan sorts the items by their keys' values, each cast once, into the order moto's sort gives, and one segment
  of a parallel scan starts from the items of that segment; an item a scan's filter refuses is not copied first.

It also takes off costs paid on every call, none of which changes a response:

- an attribute value in wire form is written to moto's JSON response as it is (moto's serializer walks its ten
  members under their aliases), and to botocore's request body as it is (botocore walks them the same way); a
  result's attribute values become plain values directly (moto asks five questions of every value on the way);
- a condition expression is parsed once per string and names (each call's values bound into the kept tree);
- an update expression is parsed once per string, and its tree lent to each update's validation (which changes
  it) and given back as parsed: no copy of it is made (another thread reads it only under the lock, when it is
  as parsed). The names and values it holds are listed once; its checks that depend on nothing but the
  expression, its names and the table's keys pass once per such triple; the passes its tree's shape leaves
  nothing to do (no function to evaluate, no path resolved to a value, no SET of an attribute named as a key) are
  not walked, and in a tree of plain SETs (``#name = :value``) and REMOVEs the values are put where the three
  passes left to walk it would put them (``_PlainSets``); the walks check each node type once per pass, not at
  every node;
- an item's size (checked at every attribute set) is summed over its values as they are, not over rebuilt copies
  of them, to the same number, and each value is measured once while an update that changes no value in place
  executes; ``UpdateItem``'s deep copy of the item as it was, which moto uses for nothing but the table's stream,
  is not made for a table without one; moto's list of a response class's methods is made once;
- an item projected to top-level attributes (a keys-only GSI's projection of each item a query returns) is read
  into plain values once, not once per attribute.

And ``partitions_at_most`` tells the local runtime, from the membership map (each shard's lowest sort key kept
until a write places an item under it), which due-index shards a sweep would find anything in, so that its sweep
queries those alone.

A lock serialises the patched calls, which also makes moto's transactions atomic when a local run decides from
several threads (``baton replay --workers``). ``tests/functional/test_moto_dynamodb.py`` holds the patched moto to
the behaviour of the original on random writes, transactions (cancelled ones included), queries and update
expressions (items near the size limit included), its projections to moto's own, and its responses to moto's own
serializer on random attribute values.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, cast

_lock = threading.RLock()
_scope = threading.local()  # .narrowed: (table, candidate items) while a patched query runs on this thread
_installed = False

Key = tuple[Any, Any]  # (hash DynamoType, range DynamoType or None)


class _Untracked(list[Any]):
    """An ``instances_tracked`` list that keeps nothing."""

    def append(self, _: Any) -> None:
        return None


def untrack() -> None:
    """Stop tracking DynamoDB model instances (moto resets the lists when a mock starts or stops)."""
    from moto.core.base_backend import model_data

    for cls in model_data.get("dynamodb", {}).values():
        cls.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def install() -> None:
    """Patch moto's DynamoDB backend and table (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.dynamodb.models as backend_module
        import moto.dynamodb.models.table as table_module
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        backend_module.copy = _CopyKeepingTables()  # type: ignore[assignment]
        table_module.copy = _CopyPassingOverFiltered()  # type: ignore[assignment]
        DynamoDBBackend.transact_write_items = _transact(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
        DynamoDBBackend.update_item = _reindexing_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
        Table.put_item = _reindexing_put(Table.put_item)  # type: ignore[method-assign]
        Table.delete_item = _reindexing_delete(Table.delete_item)  # type: ignore[method-assign]
        Table.all_items = _narrowable(Table.all_items)  # type: ignore[method-assign, assignment]
        Table.query = _narrowed_query(Table.query)  # type: ignore[method-assign]
        Table.scan = _segmented_scan(Table.scan)  # type: ignore[method-assign]
        _serialize_attribute_values_directly()
        _serialize_request_attribute_values_directly()
        _results_as_dicts_directly()
        _parse_each_update_expression_once()
        _parse_each_condition_once()
        _find_clauses_once()
        _list_response_methods_once()
        _traverse_with_node_types_cached()
        _size_items_without_rebuilding_them()
        _project_from_one_reading()
        _installed = True


# -- transactions: back up the touched items, not the tables ---------------------------------------------------


class _CopyKeepingTables:
    """Stands in for the ``copy`` module inside moto's backend module: inside a patched transaction, the "backup"
    of a table is the table itself (the touched items are backed up instead); inside a patched ``update_item`` on a
    table without a stream, the copy of the item as it was (``orig_item``, read only by ``stream_shard.add``) is the
    item itself; anything else is copied as usual."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item
        from moto.dynamodb.models.table import Table

        if getattr(_scope, "keep_tables", False) and isinstance(value, Table):
            return value
        if getattr(_scope, "no_stream", False) and type(value) is Item:
            return value  # update_item's copy of the item for the table's stream, which it has none of
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class _CopyPassingOverFiltered:
    """Stands in for the ``copy`` module inside moto's table module: inside a patched scan of a table with a filter
    expression, an item the filter refuses is not copied (moto copies every item a scan reads, then drops the
    copies the filter refuses: the filter, which changes nothing, says the same of the item as of its copy);
    anything else is copied as usual."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item

        refuses = getattr(_scope, "scan_filter", None)
        if refuses is not None and type(value) is Item and not refuses.expr(value):
            return value  # dropped by the filter moto applies next
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _transact(original: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
        with _lock:
            saved = _backup(backend, transact_items)
            _scope.keep_tables = True
            try:
                return original(backend, transact_items)
            except Exception:
                for table, key, item in reversed(saved):
                    _restore(table, key, item)
                raise
            finally:
                _scope.keep_tables = False

    return transact_write_items


def _backup(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Key, Any]]:
    found = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before writing anything
        ((kind, op),) = entry.items()
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        key = _key_of(table, op.get("Key") or op.get("Item") or {})
        if key is None:
            continue
        found.append((table, key, kind, op))
    # moto tells two operations on one item apart by their whole key maps (an extra attribute, "1" and "1.0"), so
    # one item may take two of them: then each backs it up in a deep copy, made before either runs
    touches = Counter((id(table), key) for table, key, _, _ in found)
    return [
        (table, key, copy.deepcopy(item) if touches[id(table), key] > 1 else _as_it_is(kind, op, item))
        for table, key, kind, op in found
        for item in [_get(table, key)]
    ]


def _as_it_is(kind: str, op: dict[str, Any], item: Any) -> Any:
    """What puts ``item`` back as it is before the transaction's ``kind`` operation on it: the item itself for a
    Put or a Delete (each leaves the item it replaces or takes out as it was) and a ConditionCheck; for an update
    that changes no value in place (``_Shape.flat``: it sets and removes whole attributes), the item with a copy of
    its attributes; else a deep copy. Only for an item no other operation of the transaction touches
    (``_backup``)."""
    if item is None or kind in ("Put", "Delete", "ConditionCheck"):
        return item
    tree = _parsed.get(op.get("UpdateExpression") or "") if kind == "Update" else None
    shape = _shapes.get(id(tree)) if tree is not None else None
    if shape is None or not shape.flat:
        return copy.deepcopy(item)
    kept = copy.copy(item)
    kept.attrs = type(item.attrs)()
    dict.update(kept.attrs, item.attrs)  # the same values, no size check again
    return kept


def _key_of(table: Any, attributes: dict[str, Any]) -> Key | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        hash_value = DynamoType(attributes[table.hash_key_attr])
        range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, IndexError):
        return None
    return hash_value, range_value


def _get(table: Any, key: Key) -> Any:
    hash_value, range_value = key
    if range_value is None:
        return table.items.get(hash_value)
    bucket = table.items.get(hash_value)
    return None if bucket is None else bucket.get(range_value)


def _restore(table: Any, key: Key, item: Any) -> None:
    hash_value, range_value = key
    if item is None:
        table.delete_item(hash_value, range_value)
        return
    if range_value is None:
        table.items[hash_value] = item
    else:
        table.items[hash_value][range_value] = item
    _reindex(table, key)


# -- GSI membership, kept on every write -----------------------------------------------------------------------


class _Membership:
    """For each GSI of one table: its hash key value -> the items under it, and each item's current value."""

    def __init__(self, table: Any):
        self.indexes: dict[str, list[str]] = {
            index.name: [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            for index in table.global_indexes or ()
        }
        self.members: dict[str, dict[tuple[Any, ...], dict[Key, Any]]] = {name: {} for name in self.indexes}
        self.value_of: dict[str, dict[Key, tuple[Any, ...]]] = {name: {} for name in self.indexes}
        # the lowest string sort key under each hash key value, kept until a write places an item under it
        self.lowest: dict[str, dict[tuple[Any, ...], Any]] = {name: {} for name in self.indexes}
        for item in _every_item(table):
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: Key, item: Any) -> None:
        for name, attributes in self.indexes.items():
            old = self.value_of[name].pop(key, None)
            if old is not None:
                self.lowest[name].pop(old, None)
                bucket = self.members[name].get(old)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del self.members[name][old]
            if item is None:
                continue
            values = tuple(item.attrs.get(a) for a in attributes)
            if all(v is not None for v in values):
                self.lowest[name].pop(values, None)
                self.members[name].setdefault(values, {})[key] = item
                self.value_of[name][key] = values


def _every_item(table: Any) -> Iterator[Any]:
    for bucket in list(table.items.values()):
        if table.range_key_attr:
            yield from list(bucket.values())
        else:
            yield bucket


def _membership(table: Any) -> _Membership:
    found: _Membership | None = table.__dict__.get("_baton_membership")
    if found is None:
        found = _Membership(table)
        table.__dict__["_baton_membership"] = found
    return found


def _reindex(table: Any, key: Key) -> None:
    found: _Membership | None = table.__dict__.get("_baton_membership")
    if found is not None:
        found.place(key, _get(table, key))


def _reindexing_put(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_item(table: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with _lock:
            item = original(table, item_attrs, *args, **kwargs)
            _reindex(table, (item.hash_key, item.range_key))
            return item

    return put_item


def _reindexing_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_item(table: Any, hash_key: Any, range_key: Any) -> Any:
        with _lock:
            item = original(table, hash_key, range_key)
            _reindex(table, (hash_key, range_key))
            return item

    return delete_item


def _reindexing_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with _lock:
            known = backend.tables.get(table_name)
            outer = getattr(_scope, "no_stream", False)
            _scope.no_stream = known is not None and known.stream_shard is None
            try:
                with _lending():
                    return original(backend, table_name, key, *args, **kwargs)
            finally:  # the update changes its item in place, or creates it before a validation error
                _scope.no_stream = outer
                table = backend.get_table(table_name)
                parsed = _key_of(table, key)
                if parsed is not None:
                    _reindex(table, parsed)

    return update_item


# -- queries start from the items that can match ---------------------------------------------------------------


def _narrowable(original: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    def all_items(table: Any) -> list[Any]:
        narrowed = getattr(_scope, "narrowed", None)
        if narrowed is not None and narrowed[0] is table:
            return list(narrowed[1])
        return _sorted_by_key(table)

    all_items.original = original  # type: ignore[attr-defined]
    return all_items


def _sorted_by_key(table: Any) -> list[Any]:
    """Every item of ``table`` in moto's order (``_in_key_order``)."""
    return _in_key_order(_every_item(table))


def _in_key_order(items: Iterable[Any]) -> list[Any]:
    """``items`` in moto's order (by hash key, then range key), each key's value cast once: moto's sort compares
    ``DynamoType`` keys, which casts both values at every comparison."""
    return sorted(
        items, key=lambda x: (x.hash_key.cast_value, x.range_key.cast_value) if x.range_key else x.hash_key.cast_value
    )


def _narrowed_query(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def query(table: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(table, *args, **kwargs)
        with _lock, _narrowed(table, _candidates(table, bound.arguments)):
            return original(table, *args, **kwargs)

    query.original = original  # type: ignore[attr-defined]
    return query


@contextmanager
def _narrowed(table: Any, candidates: list[Any] | None) -> Iterator[None]:
    if candidates is None:
        yield
        return
    _scope.narrowed = (table, candidates)
    try:
        yield
    finally:
        _scope.narrowed = None


def _candidates(table: Any, arguments: dict[str, Any]) -> list[Any] | None:
    """The items a query's key condition can match (a superset: moto's own code filters them), or None to let
    moto look at every item."""
    index_name = arguments.get("index_name")
    hash_key = arguments.get("hash_key")
    if not index_name:
        bucket = table.items.get(hash_key) if hash_key is not None else None
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr else [bucket]
    membership = _membership(table)
    attributes = membership.indexes.get(index_name)
    if not attributes:
        return None  # a local secondary index: moto's own way
    conditions = dict(arguments.get("hash_key_conditions") or ())
    if len(attributes) == 1 and attributes[0] not in conditions and hash_key is not None:
        conditions[attributes[0]] = hash_key
    if any(a not in conditions for a in attributes):
        return None
    values = tuple(conditions[a] for a in attributes)
    return _up_to_the_bound(table, index_name, list(membership.members[index_name].get(values, {}).values()), arguments)


def _up_to_the_bound(table: Any, index_name: str, items: list[Any], arguments: dict[str, Any]) -> list[Any]:
    """Of a GSI partition's ``items``, those a forward query with a string sort key condition ``<`` or ``<=`` can
    answer with: the items that match, and those at the first sort key value past the bound, where moto ends a
    page that has reached its limit. moto also measures each later item against the 1 MB page, and ends the page
    at one that would take it past: no item can while the matching items take at most 1 MB less one item's limit
    (405,000 bytes, which moto holds each item to as its attributes are set), and with more, every item of the
    partition is returned. Any other query: every item of the partition."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    comparison, bounds = arguments.get("range_comparison"), arguments.get("range_objs") or []
    conditions = arguments.get("range_key_conditions") or []
    sort_key = _sort_key_of(table, index_name)
    if (
        comparison not in ("<", "<=")
        or len(bounds) != 1
        or bounds[0].type != "S"
        or arguments.get("scan_index_forward") is False
        or arguments.get("filter_kwargs")
        or sort_key is None
        or any(condition[0] != sort_key for condition in conditions)
    ):
        return items
    bound = bounds[0].value
    within: list[Any] = []
    past: list[tuple[str, Any]] = []
    for item in items:
        value = item.attrs.get(sort_key)
        if value is None:
            continue  # not in the index: moto passes over it
        if value.type != "S":
            return items
        if value.value < bound or (comparison == "<=" and value.value == bound):
            within.append(item)
        else:
            past.append((value.value, item))
    if sum(item.size() for item in within) > RESULT_SIZE_LIMIT - _ITEM_SIZE_LIMIT:
        return items
    if past:
        first = min(value for value, _ in past)
        within += [item for value, item in past if value == first]
    return within


def _sort_key_of(table: Any, index_name: str) -> str | None:
    """The sort key attribute of ``table``'s GSI ``index_name`` (None: no such index, or not one sort key)."""
    index = next((i for i in (table.global_indexes or ()) if i.name == index_name), None)
    ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"] if index is not None else []
    return ranges[0] if len(ranges) == 1 else None


# -- a segment of a parallel scan starts from the items in that segment --------------------------------------------


def _segmented_scan(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def scan(table: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(table, *args, **kwargs)
        segments = bound.arguments.get("segments", (None, None))
        candidates = None
        on_index = bool(bound.arguments.get("index_name"))
        if not on_index and segments != (None, None):
            candidates = _in_segment(table, segments)
        with _lock, _narrowed(table, candidates):
            _scope.scan_filter = None if on_index else bound.arguments.get("filter_expression")
            try:
                return original(table, *args, **kwargs)
            finally:
                _scope.scan_filter = None

    scan.original = original  # type: ignore[attr-defined]
    return scan


def _in_segment(table: Any, segments: tuple[int, int]) -> list[Any] | None:
    """The items of ``segments`` (segment, total) in moto's order: those of each hash key the key's first item
    places in the segment (moto places an item by its hash key alone), or None to let moto look at every item."""
    found: list[Any] = []
    try:
        for bucket in table.items.values():
            members = list(bucket.values()) if table.range_key_attr else [bucket]
            if members and members[0].is_within_segment(segments):
                found += members
    except Exception:  # segments moto itself refuses, at the first item: its own way says how
        return None
    return _in_key_order(found)


# -- what a GSI query would find, without the query --------------------------------------------------------------


def partitions_at_most(region: str, table_name: str, index_name: str, bound: str) -> set[str] | None:
    """The hash key values of ``index_name`` (a GSI with a string sort key) under which some item's sort key is
    at most ``bound``: the partitions where ``Query(<value>, sort key <= bound)`` on embedded moto finds anything
    (an item without the sort key counts as found, to be safe). None when the patch is not installed (no
    membership kept), the table or index is not moto's, or the index has no single sort key."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    with _lock:
        if not _installed:
            return None
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.get(table_name)
        sort_key = _sort_key_of(table, index_name) if table else None
        if sort_key is None:
            return None
        limit = DynamoType({"S": bound})
        membership = _membership(table)
        lowest = membership.lowest[index_name]
        found: set[str] = set()
        for values, items in membership.members[index_name].items():
            least = lowest.get(values, _UNKNOWN)
            if least is _UNKNOWN:
                least = lowest[values] = _lowest(items, sort_key)
            if least is _MISSING or (least <= bound if type(least) is str else _any_at_most(items, sort_key, limit)):
                found.add(values[0].value)
        return found


_UNKNOWN, _MISSING, _MIXED = object(), object(), object()


def _any_at_most(items: dict[Key, Any], sort_key: str, limit: Any) -> bool:
    return any(sort_key not in item.attrs or _at_most(item.attrs[sort_key], limit) for item in items.values())


def _lowest(items: dict[Key, Any], sort_key: str) -> Any:
    """The lowest sort key of ``items`` when each has a string one (``value <= bound`` for some item exactly when
    it is ``<= bound``); ``_MISSING`` when one has none (it counts as found); ``_MIXED`` when one is not a string
    (each is compared as moto compares them)."""
    values = [item.attrs.get(sort_key) for item in items.values()]
    if any(value is None for value in values):
        return _MISSING
    if all(value.type == "S" and type(value.value) is str for value in values):
        return min(value.value for value in values)
    return _MIXED


def _at_most(value: Any, bound: Any) -> bool:
    """``value <= bound`` as moto compares two DynamoTypes (by their cast values), two strings compared directly."""
    if value.type == "S" and bound.type == "S":
        return bool(value.value <= bound.value)
    return bool(value <= bound)


# -- projections: the item read into plain values once --------------------------------------------------------------

_LIST_ELEMENT = re.compile(r"(.+)\[(\d+)\]$")  # moto's find_nested_key reads such a name as a list's element


def _project_from_one_reading() -> None:
    """moto's ``Item.project`` reads the whole item into plain values (a deep copy, every attribute deserialized)
    once for each path it projects: four times for each item a keys-only GSI query returns (the due query, at each
    release instant). When every path is one top-level attribute, none named twice, each path's find takes its
    attribute's value from the reading and nothing else, so one reading serves them all; it is made even so, and
    fails where moto's first would (a number past 38 digits in any attribute). Any other projection is moto's."""
    from moto.dynamodb.models.dynamo_type import Item, serializer

    original = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        names = [path[0] for path in projection_expressions if len(path) == 1]
        if (
            not names
            or len(names) != len(projection_expressions)
            or len(set(names)) != len(names)
            or any(_LIST_ELEMENT.match(name) for name in names)
        ):
            return original(self, projection_expressions)
        whole = self.to_regular_json()
        result = {name: whole[name] for name in names if name in whole}
        attributes = cast(dict[str, Any], serializer.serialize(result)["M"])
        return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=attributes)

    project.original = original  # type: ignore[attr-defined]
    Item.project = project  # type: ignore[method-assign]


# -- responses: an attribute value in wire form is its own JSON ---------------------------------------------------

_NOT_WIRE = object()
_SCALARS: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SETS = ("SS", "NS")


def _wire(value: Any) -> Any:
    """``value`` as moto's JSON serializer writes an ``AttributeValue`` of that value, when it is one in wire form
    with no binary part ({"S": "..."}, {"M": {...}}, ...: one key, a value of its type); else ``_NOT_WIRE``."""
    if type(value) is not dict or len(value) != 1:
        return _NOT_WIRE
    ((kind, inner),) = value.items()
    if kind in _SCALARS:
        return {kind: inner} if type(inner) is _SCALARS[kind] else _NOT_WIRE
    if kind in _SETS:
        return {kind: list(inner)} if type(inner) is list and all(type(v) is str for v in inner) else _NOT_WIRE
    if kind == "M" and type(inner) is dict and "" not in inner:  # moto's walk flattens a member named ""
        members = {k: _wire(v) for k, v in inner.items()}
        return _NOT_WIRE if any(v is _NOT_WIRE for v in members.values()) else {"M": members}
    if kind == "L" and type(inner) is list:
        elements = [_wire(v) for v in inner]
        return _NOT_WIRE if any(v is _NOT_WIRE for v in elements) else {"L": elements}
    return _NOT_WIRE


def _serialize_attribute_values_directly() -> None:
    """moto's JSON serializer walks every ``AttributeValue`` of a response member by member against the botocore
    shape (ten members, each looked up under several aliases): most of the cost of a DynamoDB response. A value
    already in wire form (moto's items hold it so) is written as it is, which is what that walk produces; any
    other value (binary, or not in wire form) takes moto's own way."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            wire = _wire(value)
            if wire is not _NOT_WIRE:
                self._default_serialize(serialized, wire, shape, key)
                return
        original(self, serialized, value, shape, key)

    _serialize_type_structure.original = original  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


def _serialize_request_attribute_values_directly() -> None:
    """botocore's JSON serializer walks every ``AttributeValue`` of a request the same way, member by member against
    the shape, after the parameters were validated: a value in wire form with no binary part (pynamodb serializes
    items to it) is written as it is, which is what the walk produces; any other value (binary, which the walk
    encodes in base64) takes botocore's own way."""
    from botocore.serialize import JSONSerializer

    original = JSONSerializer._serialize_type_structure  # type: ignore[attr-defined]

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: Any) -> None:
        if key is not None and shape.name == "AttributeValue":
            wire = _wire(value)
            if wire is not _NOT_WIRE:
                serialized[key] = wire
                return
        original(self, serialized, value, shape, key)

    _serialize_type_structure.original = original  # type: ignore[attr-defined]
    JSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[attr-defined]


_PLAIN = (str, bool, int, float, type(None))  # what moto's dynamo_to_dict gives back as it is


def _results_as_dicts_directly() -> None:
    """moto turns a DynamoDB response's result into plain values (``dynamo_to_dict``) asking of every value in turn
    whether it is a datetime, a DynamoType, has a ``to_json``, a dict, a list: an attribute value that is not
    binary is ``{type: value}`` all the way down, which is made here directly; anything else (binary, an item, a
    value of another shape) takes moto's own way."""
    import moto.dynamodb.responses as responses
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    original = responses.dynamo_to_dict
    mappings = (dict, LimitedSizeDict)  # an item's attributes: a dict without ``to_json``

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind is DynamoType:
            tag, value = obj.type, obj.value
            if tag in ("S", "N", "BOOL", "NULL") and type(value) in _PLAIN:
                return {tag: value}
            if tag == "M" and type(value) is dict:
                return {tag: {k: dynamo_to_dict(v) for k, v in value.items()}}
            if tag in ("L", "SS", "NS") and type(value) is list:
                return {tag: [dynamo_to_dict(v) for v in value]}
            return original(obj)
        if kind in mappings:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(v) for v in obj]
        if kind in _PLAIN:
            return obj
        return original(obj)

    dynamo_to_dict.original = original  # type: ignore[attr-defined]
    responses.dynamo_to_dict = dynamo_to_dict


# -- update expressions: parsed once, their static checks passed once -------------------------------------------

_PARSED_LIMIT = 4096  # distinct expression strings kept (pynamodb writes placeholders: a few dozen in a run)
_parsed: dict[str, Any] = {}  # expression -> its AST (lent to an update's validation, given back as parsed)
_parsed_ids: dict[int, bytes] = {}  # id of each of those ASTs (kept alive by _parsed) -> the AST pickled
_shapes: dict[int, _Shape] = {}  # id of each of those ASTs -> what its passes can find in it
_plain_sets: dict[int, _PlainSets] = {}  # id of each of those ASTs that sets only values and removes -> its plan
_passed: set[tuple[int, frozenset[tuple[str, str]], tuple[str, ...]]] = set()  # (id of AST, names, key attributes)


class _Shape(NamedTuple):
    """What an update expression's tree holds that decides whether four of moto's passes can do anything to it:

    - ``functions``: an ``if_not_exists`` or ``list_append`` (the function pass evaluates nothing else);
    - ``resolved_paths``: a path the resolving pass replaces by the item's value (one in an action's value side,
      where that pass resolves; or outside any action, where it might): the only source of the missing paths
      the next pass but one refuses;
    - ``set_keys``: the first element of each SET action's path as written (a name placeholder stays a
      placeholder), which the type and empty-key passes compare with the table's key attributes, and which
      decides alone whether they can refuse anything;
    - ``flat``: every action a SET or REMOVE of a whole attribute (no nested path, no ADD or DELETE): executing it
      puts values in the item or takes them out, and changes none in place, so a value's size holds for the
      whole update (``_sized``)."""

    functions: bool
    resolved_paths: bool
    set_keys: frozenset[Any]
    flat: bool


def _ast_nodes() -> Any:
    """moto's module of update expression nodes (untyped)."""
    import importlib

    return importlib.import_module("moto.dynamodb.parsing.ast_nodes")


def _shape_of(tree: Any) -> _Shape | None:
    """The tree's shape, or None where its form is not the one the passes assume (each pass then runs)."""
    ast_nodes = _ast_nodes()
    actions = (
        ast_nodes.UpdateExpressionSetAction,
        ast_nodes.UpdateExpressionRemoveAction,
        ast_nodes.UpdateExpressionDeleteAction,
        ast_nodes.UpdateExpressionAddAction,
    )
    functions = resolved = False
    flat = True
    set_keys = set()
    pending: list[tuple[Any, bool | None]] = [(tree, None)]  # (node, in an action's value side; None: in no action)
    try:
        while pending:
            node, valued = pending.pop()
            if not isinstance(node, ast_nodes.Node):
                continue
            functions = functions or isinstance(node, ast_nodes.UpdateExpressionFunction)
            resolved = resolved or (isinstance(node, ast_nodes.UpdateExpressionPath) and valued is not False)
            if isinstance(node, ast_nodes.UpdateExpressionSetAction):
                set_keys.add(node.children[0].children[0].children[0])
            acts = isinstance(node, actions)
            if acts:
                whole = isinstance(node, actions[:2]) and len(node.children[0].children) == 1
                flat = flat and whole
            pending.extend((child, i > 0 if acts else valued) for i, child in enumerate(node.children or []))
    except (AttributeError, IndexError, TypeError):
        return None
    return _Shape(functions, resolved, frozenset(set_keys), flat)


class _PlainSets(NamedTuple):
    """A tree whose every action SETs a ``#name`` to a ``:value`` or REMOVEs a ``#name``: where the three passes
    that work on it (values, resolving, operations) leave its values, in the order the walk meets them.

    - ``values``: (the SET action, its value node, the value placeholder), in the order of the walk;
    - ``names``: the name placeholders its paths hold.

    Those three passes are the ones left once the static checks passed for the tree's names and the shape leaves
    the rest idle. Of them, the resolving one only looks up each path in the item, which fails only for a
    placeholder not among the names (``_plain`` asks for them all); the values pass puts each value (as moto makes
    it) in its value node, failing at the first placeholder missing from the values, and the operations pass puts
    it in its action in place of the value node."""

    values: tuple[tuple[Any, Any, str], ...]
    names: frozenset[str]


def _plain_sets_of(tree: Any) -> _PlainSets | None:
    """The plan of a tree of plain SETs and REMOVEs (``_PlainSets``), or None for any other tree."""
    ast_nodes = _ast_nodes()
    inner = (
        ast_nodes.UpdateExpression,
        ast_nodes.UpdateExpressionSetClause,
        ast_nodes.UpdateExpressionSetActions,
        ast_nodes.UpdateExpressionRemoveClause,
        ast_nodes.UpdateExpressionRemoveActions,
    )
    values: list[tuple[Any, Any, str]] = []
    names: set[str] = set()

    def walk(node: Any) -> bool:  # in the order of moto's walk (children first, left to right)
        kind = type(node)
        if kind in inner:
            return all(walk(child) for child in node.children)
        if kind not in (ast_nodes.UpdateExpressionSetAction, ast_nodes.UpdateExpressionRemoveAction):
            return False
        path = node.children[0]
        if type(path) is not ast_nodes.UpdateExpressionPath or len(path.children) != 1:
            return False
        name = path.children[0]
        if type(name) is not ast_nodes.ExpressionAttributeName or type(name.children[0]) is not str:
            return False
        names.add(name.children[0])
        if kind is ast_nodes.UpdateExpressionRemoveAction:
            return len(node.children) == 1
        if len(node.children) != 2:
            return False
        value = node.children[1]
        if type(value) is not ast_nodes.UpdateExpressionValue or len(value.children) != 1:
            return False
        placeholder = value.children[0]
        if type(placeholder) is not ast_nodes.ExpressionAttributeValue or type(placeholder.children[0]) is not str:
            return False
        values.append((node, value, placeholder.children[0]))
        return True

    try:
        return _PlainSets(tuple(values), frozenset(names)) if walk(tree) else None
    except (AttributeError, IndexError, TypeError):
        return None


def _plain(validator: Any, plan: _PlainSets) -> bool:
    """Whether the passes left to run on a tree of plain SETs and REMOVEs are the three ``_set_plain_values`` does
    the work of, under names that hold its paths' placeholders and values given as a mapping."""
    from moto.dynamodb.parsing.validators import (
        ExecuteOperations,
        ExpressionAttributeResolvingProcessor,
        ExpressionAttributeValueProcessor,
    )

    names, values = validator.expression_attribute_names, validator.expression_attribute_values
    return (
        [type(p) for p in validator.processors]
        == [ExpressionAttributeValueProcessor, ExpressionAttributeResolvingProcessor, ExecuteOperations]
        and type(values) is dict
        and type(names) is dict
        and plan.names <= names.keys()
    )


def _set_plain_values(tree: Any, plan: _PlainSets, values: dict[str, Any]) -> Any:
    """What the values, resolving and operations passes make of the lent ``tree`` of that plan, under names that
    hold every placeholder of its paths: each value (moto's ``DDBTypedValue`` of it) put in its value node, then
    in its action, each change recorded for ``_give_back``; a value missing fails as moto's values pass does, at
    the first one its walk meets."""
    from moto.dynamodb.exceptions import ExpressionAttributeValueNotDefined
    from moto.dynamodb.models.dynamo_type import DynamoType

    typed_value = _ast_nodes().DDBTypedValue
    typed = []
    for action, value, placeholder in plan.values:
        try:
            target = values[placeholder]
        except KeyError:
            raise ExpressionAttributeValueNotDefined(attribute_value=placeholder) from None
        node = typed_value(DynamoType(target))
        _put_in_place(node, value, 0)
        typed.append((node, action))
    for node, action in typed:
        _put_in_place(node, action, 1)
    return tree


def _keep(expression: str, tree: Any) -> None:
    """Keep the parse of ``expression``: the tree, its pickle, its shape and plan (where it has them)."""
    _parsed[expression] = tree
    _parsed_ids[id(tree)] = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
    shape = _shape_of(tree)
    if shape is not None:
        _shapes[id(tree)] = shape
    plan = _plain_sets_of(tree)
    if plan is not None:
        _plain_sets[id(tree)] = plan


def _static_check_classes() -> tuple[type, ...]:
    """The validators that look only at the expression, its attribute names and the table's key attributes (no
    value, no item), and change nothing: their verdict on the same three is always the same."""
    from moto.dynamodb.parsing.validators import (
        ActionCountValidator,
        OverlappingPathsValidator,
        UpdateHashRangeKeyValidator,
    )

    return ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator


def _idle(shape: _Shape, processor: Any) -> bool:
    """Whether a pass finds nothing to do in a tree of this shape: the function pass without a function, the
    missing-path check without a path resolved to a value, the type and empty-key checks of SET actions when
    no action sets an attribute named as a key attribute of the table (both compare the name as written)."""
    from moto.dynamodb.parsing.validators import (
        EmptyStringKeyValueValidator,
        NoneExistingPathChecker,
        TypeMismatchValidator,
        UpdateExpressionFunctionEvaluator,
    )

    kind = type(processor)
    if kind is UpdateExpressionFunctionEvaluator:
        return not shape.functions
    if kind is NoneExistingPathChecker:
        return not shape.resolved_paths
    if kind is TypeMismatchValidator:
        return not any(d["AttributeName"] in shape.set_keys for d in processor.key_attributes_type)
    if kind is EmptyStringKeyValueValidator:
        return not any(k in shape.set_keys for k in processor.key_attributes)
    return False


# -- a kept tree lent to the validation of one update, and given back as it was parsed -----------------------------

_ENTRY, _PARENT, _CHILDREN = 0, 1, 2  # what a lent tree's validation changed: a child entry, a parent, the root's list
_lent: list[tuple[int, Any, int, Any]] = []  # (what, list or node, index, what it was), in the order made
_recording_walk: list[Any] = [None, None]  # the patched walk (it records what it changes in a lent tree), its class


def _lend(tree: Any) -> Any:
    """The kept tree itself, for a validation inside a patched ``update_item`` (under the lock, which gives it back
    when it ends): moto's passes change a tree only where the patched walk puts a processed node in its parent's
    list and sets the node's parent, and ``normalize`` only by giving the root a new list of children; the walk
    records each change and ``_give_back`` undoes them, so the next call finds the tree as it was parsed, as it
    found a fresh copy."""
    _give_back()  # a tree lent before in this update (moto validates a new item's update twice)
    _lent.append((_CHILDREN, tree, 0, tree.children))
    return tree


def _give_back() -> None:
    """Undo, newest first, what validations and ``normalize`` changed in the trees lent to them."""
    while _lent:
        what, owner, index, was = _lent.pop()
        if what == _ENTRY:
            owner[index] = was
        elif what == _PARENT:
            owner.parent = was
        else:
            owner.children = was


@contextmanager
def _lending() -> Iterator[None]:
    """Inside: validations are lent the kept trees (the caller holds the lock); after: the trees are given back."""
    outer = getattr(_scope, "lending", False)
    _scope.lending = True
    try:
        yield
    finally:
        _scope.lending = outer
        if not outer:
            _scope.sizes = _scope.totals = None
            _give_back()


def _copied(value: Any, memo: Any = None) -> Any:
    """``deepcopy`` as moto's validators module sees it: a kept tree is lent inside a patched update (when the walk
    in place is the one that records its changes), and unpickled elsewhere; anything else is deep copied."""
    pickled = _parsed_ids.get(id(value)) if memo is None else None
    if pickled is None:
        return copy.deepcopy(value, memo)
    walk, traverser = _recording_walk
    if getattr(_scope, "lending", False) and walk is not None and traverser.traverse_node_recursively is walk:
        return _lend(value)
    return pickle.loads(pickled)


_copied.original = copy.deepcopy  # type: ignore[attr-defined]


def _working(processors: list[Any], key: tuple[int, Any, Any], static: tuple[type, ...]) -> list[Any]:
    """The passes that can find something to do in the kept tree ``key`` names, under its names and keys."""
    passed = key in _passed
    shape = _shapes.get(key[0])
    return [
        p for p in processors if not (passed and isinstance(p, static)) and not (shape is not None and _idle(shape, p))
    ]


def _parse_each_update_expression_once() -> None:
    """moto parses an UpdateExpression on every call (tokens, AST) and runs ten validating passes over a deep copy
    of it; pynamodb sends the same few expression strings with placeholders again and again. Now the parse of a
    string is kept (and shared: inside an update moto validates the kept tree itself, lent and given back as
    parsed, and elsewhere a copy unpickled from it), the three passes that depend on nothing but the expression,
    its names and the table's key attributes are skipped once they passed for those, the passes that the tree's
    shape leaves nothing to do are skipped (``_Shape``), and each pass's node types are computed once (moto
    rebuilds the tuple at every node). Errors are raised as before: nothing is kept of a parse or a pass that
    failed."""
    import importlib

    # moto's parsing modules are untyped
    validators: Any = importlib.import_module("moto.dynamodb.parsing.validators")
    DepthFirstTraverser: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes").DepthFirstTraverser
    UpdateExpressionParser: Any = importlib.import_module("moto.dynamodb.parsing.expressions").UpdateExpressionParser
    UpdateExpressionValidator: Any = validators.UpdateExpressionValidator

    make = UpdateExpressionParser.make.__func__

    def parsed(cls: Any, expression: str) -> Any:
        with _lock:
            found = _parsed.get(expression)
            if found is None:
                found = make(cls, expression)
                if len(_parsed) < _PARSED_LIMIT:
                    _keep(expression, found)
            return found

    UpdateExpressionParser.make = classmethod(parsed)

    static = _static_check_classes()
    init, validate = UpdateExpressionValidator.__init__, UpdateExpressionValidator.validate

    def remembering_init(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        init(self, expression, *args, **kwargs)
        known = id(expression) in _parsed_ids
        names = frozenset((self.expression_attribute_names or {}).items())
        self.baton_static_key = (id(expression), names, tuple(self.table.table_key_attrs)) if known else None

    def validating(self: Any) -> Any:
        key = self.baton_static_key
        if key is not None:
            self.processors = _working(self.processors, key, static)
            shape = _shapes.get(key[0])
            lending = getattr(_scope, "lending", False)
            if lending and shape is not None and shape.flat:
                _scope.sizes, _scope.totals = {}, {}  # for this update's execution: given up when it ends (_lending)
            plan = _plain_sets.get(key[0])
            if plan is not None and lending and id(self.node_to_validate) == key[0] and _plain(self, plan):
                return _set_plain_values(self.node_to_validate, plan, self.expression_attribute_values)
        node = validate(self)
        if key is not None:
            _passed.add(key)
        return node

    validators.deepcopy = _copied  # a validator's copy of a kept AST: lent inside an update, else unpickled
    validating.original = validate  # type: ignore[attr-defined]
    UpdateExpressionValidator.__init__ = remembering_init
    UpdateExpressionValidator.validate = validating

    nodes = DepthFirstTraverser.nodes_to_be_processed

    def nodes_once(self: Any) -> Any:
        found = self.__dict__.get("_baton_nodes")
        if found is None:
            found = self.__dict__["_baton_nodes"] = nodes(self)
        return found

    DepthFirstTraverser.nodes_to_be_processed = nodes_once


# -- condition expressions: each string parsed once per names ----------------------------------------------------

_conditions: dict[tuple[str, Any], tuple[Any, list[str], list[str]]] = {}  # (expression, names) -> parsed


def _parse_each_condition_once() -> None:
    """moto parses a condition expression into its tree of tokens on every call (then builds the condition to
    evaluate from it); the tree depends on the string and the attribute names alone, but for the values it holds
    where the string names ``:values``. Now the tree of a string parsed under the same names is kept (from a
    parse that succeeded), and a parse binds the call's values into it, looking each up in the order moto's parse
    does (the same error for a value missing), notes the names and values it found as moto's does, and builds the
    condition with moto's own step. A string that fails is parsed, and fails, every time."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    placeholder = ConditionExpressionParser.Kind.EXPRESSION_ATTRIBUTE_VALUE

    def bind(node: Any, lookup: Callable[[str], Any]) -> Any:
        if node.kind == placeholder:
            return node._replace(value=lookup(node.text))
        if not node.children:
            return node
        return node._replace(children=[bind(child, lookup) for child in node.children])

    def parse(self: Any) -> Any:
        expression, names = self.condition_expression, self.expression_attribute_names
        if type(expression) is not str or not expression or not _plain_names(names):
            return original(self)  # no expression, or one moto's own parse is to say what of
        key = (expression, None if names is None else frozenset(names.items()))
        kept = _conditions.get(key)
        if kept is None:
            condition = original(self)  # refused: raised, nothing kept
            if len(_conditions) < _PARSED_LIMIT:
                fresh = ConditionExpressionParser(expression, names, self.expression_attribute_values)
                tree = _condition_tree(fresh)
                _conditions[key] = (tree, fresh._find_literals(tree), fresh._find_expr_attr_values(tree))
            return condition
        tree, literals, values = kept
        bound = bind(tree, self._lookup_expression_attribute_value)
        self.expr_attr_names_found.extend(literals)
        self.expr_attr_values_found.extend(values)
        return self._make_op_condition(bound)

    parse.original = original  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def _plain_names(names: Any) -> bool:
    """Whether attribute names are None or a dict of strings to strings (as botocore lets through): a key for the
    kept trees that tells apart what moto's lookups tell apart."""
    return names is None or (type(names) is dict and all(type(k) is str and type(v) is str for k, v in names.items()))


def _condition_tree(parser: Any) -> Any:
    """The tree moto's ``ConditionExpressionParser.parse`` builds its condition from: its steps up to that one."""
    nodes = parser._lex_condition_expression()
    nodes = parser._parse_paths(nodes)
    nodes = parser._apply_functions(nodes)
    nodes = parser._apply_comparator(nodes)
    nodes = parser._apply_in(nodes)
    nodes = parser._apply_between(nodes)
    nodes = parser._apply_parens_and_booleans(nodes)
    return nodes[0]


_clauses: dict[tuple[int, tuple[type, ...]], list[Any]] = {}  # (id of a kept tree, clause types) -> what it holds


def _find_clauses_once() -> None:
    """moto's DynamoDB handler lists the attribute names and values an update expression's tree holds
    (``find_clauses``, a walk of the whole tree) on every call, to check the call's names and values were all
    used; the answer for a kept tree is kept (it holds the same clauses but while an update is lent it, under the
    lock: there the walk is moto's, and elsewhere the answer waits for the tree to be given back)."""
    import importlib

    node_class: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes").Node
    original = node_class.find_clauses

    def find_clauses(self: Any, clause_types: Any) -> Any:
        if id(self) not in _parsed_ids:
            return original(self, clause_types)
        with _lock:  # a kept tree is lent only under the lock: outside an update it is as parsed
            if getattr(_scope, "lending", False):
                return original(self, clause_types)
            key = (id(self), tuple(clause_types))
            found = _clauses.get(key)
            if found is None:
                found = _clauses[key] = original(self, clause_types)
            return list(found)

    find_clauses.original = original  # type: ignore[attr-defined]
    node_class.find_clauses = find_clauses


def _list_response_methods_once() -> None:
    """moto lists a response class's methods (``inspect.getmembers``) on every call it dispatches, to find the
    action's; a class's methods do not change while a run lasts, so each class's list is made once."""
    import moto.core.responses as responses

    listed: dict[type, list[str]] = {}
    method_names = responses.method_names_from_class

    def method_names_once(clazz: type) -> list[str]:
        found = listed.get(clazz)
        if found is None:
            found = listed[clazz] = method_names(clazz)
        return list(found)

    responses.method_names_from_class = method_names_once  # type: ignore[assignment]


# -- update expressions: one traversal's type checks, made once per node type --------------------------------------


def _traverse_with_node_types_cached() -> None:
    """moto's validators walk an update expression's tree once per pass (seven passes a call), and at
    every node ask whether it is a ``Node`` and whether it is of a type the pass processes: ``isinstance`` checks
    against abstract base classes, most of the walk's cost, and a call of the pass's ``pre_processing_of_child``
    hook for every child, which does nothing but in the one pass that overrides it. Now each answer is kept per
    node type (per pass class for the second: moto's passes list their node types literally, the same for every
    instance), and the hook is called where a pass overrides it. The walk itself, its order, what it processes
    and how it puts processed nodes in place are moto's (each change to a lent tree recorded: ``_put_in_place``)."""
    import importlib

    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    traverser: Any = ast_nodes.DepthFirstTraverser
    node_class = ast_nodes.Node
    original = traverser.traverse_node_recursively
    no_hook = traverser.pre_processing_of_child
    is_node: dict[type, bool] = {}
    processed: dict[tuple[type, type], bool] = {}
    hooked: dict[type, bool] = {}

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        kind = type(node)
        found = is_node.get(kind)
        if found is None:
            found = is_node[kind] = isinstance(node, node_class)
        if not found:
            return node
        parent_node = node.parent
        if node.children is not None:
            pass_class = type(self)
            hook = hooked.get(pass_class)
            if hook is None:
                hook = hooked[pass_class] = pass_class.pre_processing_of_child is not no_hook
            for i, child_node in enumerate(node.children):
                if hook:
                    self.pre_processing_of_child(node, i)
                if is_node.get(type(child_node), True):  # a value (a name, a placeholder): nothing to walk
                    traverse_node_recursively(self, child_node, i)
        key = (type(self), kind)
        match = processed.get(key)
        if match is None:
            match = processed[key] = isinstance(node, self.nodes_to_be_processed())
        if match:
            node = self.process(node)
            _put_in_place(node, parent_node, child_id)
        return node

    traverse_node_recursively.original = original  # type: ignore[attr-defined]
    traverser.traverse_node_recursively = traverse_node_recursively
    _recording_walk[:] = [traverse_node_recursively, traverser]


def _put_in_place(node: Any, parent_node: Any, child_id: int) -> None:
    """moto's ``node.parent = parent_node`` and ``if parent_node: parent_node.children[child_id] = node``, each
    recorded (to be undone) where it changes a lent tree."""
    lending = getattr(_scope, "lending", False)
    if node.parent is not parent_node:
        if lending and node.parent is not None:
            _lent.append((_PARENT, node, 0, node.parent))
        node.parent = parent_node
    if parent_node:
        entries = parent_node.children
        if entries[child_id] is not node:
            if lending:
                _lent.append((_ENTRY, entries, child_id, entries[child_id]))
            entries[child_id] = node


# -- item sizes: the same sums, without rebuilding the values ----------------------------------------------------

_ITEM_SIZE_LIMIT = 405000  # moto's (dynamo_type.LimitedSizeDict.__setitem__)
_SET_TYPES = ("SS", "NS", "BS")
_dynamo_type: Any = None  # moto's DynamoType, once the patch is installed
_number_bytes: Callable[[str], int] = len  # moto's measure of a number's text (utilities.number_size), once installed


class _Unusual(Exception):
    """A value outside the shapes ``_exact_size`` knows: moto's own ``size`` measures it."""


def _text_bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _scalar_bytes(value: Any) -> int:
    """What moto's ``size`` gives for a string, binary, boolean or null value (``bytesize``, or 1 for a bool)."""
    kind = type(value)
    if kind is str:
        return _text_bytes(value)
    if kind is bool:
        return 1
    if kind is bytes:
        return len(value)
    raise _Unusual


def _exact_size(value: Any) -> int:
    """``DynamoType.size`` of ``value`` (a DynamoType whose nested values are DynamoTypes), without moto's
    rebuilding of every nested map value (``DynamoType(v).size()``, a copy of the subtree at each level)."""
    kind, inner = value.type, value.value
    if kind == "N":
        return _number_bytes(str(inner))
    if kind in _SET_TYPES:
        if kind == "NS":
            return sum(_number_bytes(str(member)) for member in inner)
        return sum(_scalar_bytes(member) for member in inner)
    if kind == "L":
        if type(inner) is not list:
            raise _Unusual
        total = 0
        for element in inner:
            if type(element) is not _dynamo_type:
                raise _Unusual
            total += _exact_size(element)
        return total
    if kind == "M":
        if type(inner) is not dict:
            raise _Unusual
        total = 0
        for name, member in inner.items():
            if type(name) is not str or type(member) is not _dynamo_type:
                raise _Unusual
            total += _text_bytes(name) + _exact_size(member)
        return total
    return _scalar_bytes(inner)


_NO_VALUE = object()


def _keep_sum(
    totals: dict[int, tuple[Any, int, int]] | None,
    attributes: Any,
    key: Any,
    value: Any,
    current: int,
    measures: tuple[Callable[[Any], int], Callable[[Any], int]],
) -> None:
    """Keep the sum over ``attributes``' keys and values (``current`` now) once ``key`` is set to ``value``, with
    the attributes themselves and their number then, for the update's next SET (while the update changes no value
    in place: ``totals`` not None). ``measures``: the size of a key, of a value."""
    if totals is None:
        return
    key_bytes, measure = measures
    old = dict.get(attributes, key, _NO_VALUE)
    change = key_bytes(key) + measure(value) if old is _NO_VALUE else measure(value) - measure(old)
    totals[id(attributes)] = (attributes, len(attributes) + (old is _NO_VALUE), current + change)


def _sum_of(
    totals: dict[int, tuple[Any, int, int]] | None,
    attributes: Any,
    key_bytes: Callable[[Any], int],
    measure: Callable[[Any], int],
) -> int:
    """The sum of ``attributes``' keys and values: as its last SET in this update kept it, if it still has the
    number of attributes it had then (a REMOVE since changes it); else summed over them."""
    kept = totals.get(id(attributes)) if totals is not None else None
    if kept is not None and kept[0] is attributes and kept[1] == len(attributes):
        return kept[2]
    return sum([key_bytes(k) for k in attributes]) + sum([measure(v) for v in attributes.values()])


def _sized(sizes: dict[int, tuple[Any, int]], value: Any, size: Callable[[Any], int]) -> int:
    """``size(value)``, measured once while a flat update executes (its values change in no place): kept with the
    value itself, so that no other value can take its id while the update lasts."""
    found = sizes.get(id(value))
    if found is None or found[0] is not value:
        found = sizes[id(value)] = (value, size(value))
    return found[1]


def _size_items_without_rebuilding_them() -> None:
    """moto checks an item's size (at most 405,000 bytes, else ``ItemSizeTooLarge``) at every attribute it sets:
    ``LimitedSizeDict.__setitem__`` sums the size of every attribute already there, which ``DynamoType.size``
    measures by rebuilding each nested map value as a new DynamoType. Now

    - ``DynamoType.size`` adds up the same byte counts over the value as it is (``_exact_size``); a value of any other
      shape (a nested value not a DynamoType, a string not ``str``...) is measured by moto's own ``size``;
    - ``LimitedSizeDict.__setitem__`` makes the same sums, in the same order, with that ``size``; while an update
      that changes no value in place executes, it keeps the sum of the item it set an attribute of (with the item
      itself and its number of attributes) and starts the next SET's sum from it: the values it sums are measured
      once in such an update (``_sized``), and a REMOVE between two SETs changes the number of attributes, so the
      sum is made again;
    - ``Item.__init__``, which sets the attributes of a new item one by one into an empty ``LimitedSizeDict``,
      keeps the running sum of those it set (new DynamoTypes, which nothing changes while the loop runs) instead
      of summing them all again at each one, and refuses an item at the same attribute with the same error.

    Every check compares the same number with the same limit, so the same items (and attributes) are refused,
    and nothing is cached from one call to the next: moto changes nested values in place."""
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize, number_size

    DynamoType, LimitedSizeDict, Item = dynamo_type.DynamoType, dynamo_type.LimitedSizeDict, dynamo_type.Item
    original_size, original_setitem, original_init = DynamoType.size, LimitedSizeDict.__setitem__, Item.__init__
    global _dynamo_type, _number_bytes
    _dynamo_type, _number_bytes = DynamoType, number_size

    def size(self: Any) -> int:
        try:
            return _exact_size(self)
        except _Unusual:
            return original_size(self)

    def measure(value: Any) -> int:
        if type(value) is not DynamoType:
            return bytesize(str(value))
        sizes = getattr(_scope, "sizes", None)
        return size(value) if sizes is None else _sized(sizes, value, size)

    def key_bytes(key: Any) -> int:
        return _text_bytes(key) if type(key) is str else measure(key)

    def setitem(self: Any, key: str, value: Any) -> None:
        totals = getattr(_scope, "totals", None)
        current_item_size = _sum_of(totals, self, key_bytes, measure)
        new_item_size = bytesize(key) + measure(value)
        if (current_item_size + new_item_size) > _ITEM_SIZE_LIMIT:
            raise dynamo_type.ItemSizeTooLarge
        _keep_sum(totals, self, key, value, current_item_size, (key_bytes, measure))
        dict.__setitem__(self, key, value)

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        if any(type(key) is not str for key in attrs):
            original_init(self, hash_key, range_key, attrs)
            return
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        current_item_size = 0  # what setitem would sum over the attributes set so far
        for key, value in attrs.items():
            typed = DynamoType(value)
            new_item_size = _text_bytes(key) + size(typed)
            if (current_item_size + new_item_size) > _ITEM_SIZE_LIMIT:
                raise dynamo_type.ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)
            current_item_size += new_item_size

    size.original = original_size  # type: ignore[attr-defined]
    setitem.original = original_setitem  # type: ignore[attr-defined]
    init.original = original_init  # type: ignore[attr-defined]
    DynamoType.size = size  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]
    Item.__init__ = init  # type: ignore[method-assign]
