"""Lists in pages by cursor (keyset): a page starts after the last row of the one before,
by the list's order and then the id, so rows arriving or moving meanwhile neither shift
nor repeat the rows still to come, and a cursor past the end is an empty page.

Each page is two queries whatever its size: the page's ids (and their sort keys, for the
cursors) from the filtered rows alone, then those rows read in full. The condition after
a cursor starts with a plain bound on the first sort key, so the database starts reading
its index there instead of skipping every row before it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from workflow.models import Deadline

from .filters import refuse_unknown_parameters

MAX_ID = 2**63 - 1
LONGEST_TEXT_KEY = 200


@dataclass(frozen=True)
class Key:
    """One term of a list's order: rows without a value come last, either direction."""

    name: str
    descending: bool
    nullable: bool
    kind: str  # "moment", "number" or "text": what a cursor may hold for it

    def ordered(self, reverse: bool = False) -> Any:
        # Said only where a row can lack a value: PostgreSQL reads an index backwards
        # for "DESC" but not for "DESC NULLS LAST", even on a column that is never null.
        nulls = {} if not self.nullable else {"nulls_first": True} if reverse else {"nulls_last": True}
        return F(self.name).desc(**nulls) if self.descending != reverse else F(self.name).asc(**nulls)


def kind_of(field: Any) -> str:
    if isinstance(field, models.DateTimeField):
        return "moment"
    if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
        return "number"
    return "text"


def keys_of(queryset: Any) -> list[Key]:
    """The queryset's order as keys, ending with the id (ascending unless ordered)."""
    model = queryset.model
    keys: list[Key] = []
    for term in queryset.query.order_by:
        if not isinstance(term, str):
            raise TypeError("a cursor pages lists ordered by names")
        name = term.lstrip("-")
        if name in ("pk", "id", model._meta.pk.name):
            keys.append(Key("pk", term.startswith("-"), False, "number"))
            return keys
        annotation = queryset.query.annotations.get(name)
        field = annotation.output_field if annotation is not None else model._meta.get_field(name)
        keys.append(Key(name, term.startswith("-"), annotation is not None or field.null, kind_of(field)))
    return [*keys, Key("pk", False, False, "number")]


def after(keys: list[Key], values: list[Any], reverse: bool = False) -> Q:
    """The rows after `values` in the order of `keys` (before them with `reverse`)."""
    arms: list[Q] = []
    same = Q()
    for key, value in zip(keys, values, strict=True):
        forward = key.descending == reverse  # True when the rows that follow hold larger values
        if value is None:
            # Rows without a value come last: none follow them in this key; every row
            # with one precedes them.
            beyond = Q(**{f"{key.name}__isnull": False}) if reverse else None
            equal = Q(**{f"{key.name}__isnull": True})
        else:
            beyond = Q(**{f"{key.name}__{'lt' if not forward else 'gt'}": value})
            if key.nullable and not reverse:
                beyond |= Q(**{f"{key.name}__isnull": True})
            equal = Q(**{key.name: value})
        if beyond is not None:
            arms.append(same & beyond)
        same &= equal
    if not arms:
        return Q(pk__in=[])
    condition = arms[0]
    for arm in arms[1:]:
        condition |= arm
    first, value = keys[0], values[0]
    if value is not None:
        # The same rows, said so that the database can start its index scan at the cursor.
        forward = first.descending == reverse
        bound = Q(**{f"{first.name}__{'lte' if not forward else 'gte'}": value})
        if first.nullable and not reverse:
            bound |= Q(**{f"{first.name}__isnull": True})
        condition = bound & condition
    return condition


class CursorPagination(BasePagination):
    """`cursor` and `page_size` (1 to max_page_size rows, page_size by default); the
    answer is {"next", "previous", "results"}, each link null where there is no such page."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 20
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None,
                          read: Callable[[Any], Any] | None = None) -> list[Any]:
        """The page's rows; `read` makes the rows to show of a queryset of the page's
        ids (the case list adds its deadline figures to those rows only)."""
        refuse_unknown_parameters(request, view)
        self.request = request
        size = self.size_asked(request)
        keys = keys_of(queryset)
        self.signature = ",".join(("-" if k.descending else "") + k.name for k in keys)
        position = self.cursor_asked(request, keys)
        reverse = bool(position and position[1])
        rows = self.page_keys(queryset, keys, position[0] if position else None, reverse, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        ids = [row[-1] for row in rows]
        shown = {row.pk: row for row in (read or (lambda chosen: chosen))(queryset.filter(pk__in=ids))}
        # A row that left the selection between the two reads (moved on by someone else
        # meanwhile) is left out: the page is a row short, never wrong.
        page = [shown[pk] for pk in ids if pk in shown]
        self.next_values = list(rows[-1]) if rows and (more or reverse) else None
        self.previous_values = list(rows[0]) if rows and position is not None and (more or not reverse) else None
        return page

    def page_keys(self, queryset: Any, keys: list[Key], values: list[Any] | None, reverse: bool,
                  limit: int) -> list[tuple[Any, ...]]:
        """The sort keys, id last, of the first `limit` rows after `values` (before them
        with `reverse`)."""
        selected = queryset if values is None else queryset.filter(after(keys, values, reverse))
        picked = [f"_key{i}" for i in range(len(keys))]
        return list(selected.annotate(**{name: F(key.name) for name, key in zip(picked, keys, strict=True)})
                    .order_by(*(key.ordered(reverse) for key in keys)).values_list(*picked)[:limit])

    def size_asked(self, request: Request) -> int:
        text = request.query_params.get(self.page_size_query_param)
        if text is None:
            return self.page_size
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                _("Enter a whole number from 1 to %(largest)d.") % {"largest": self.max_page_size}]})
        return int(text)

    def cursor_asked(self, request: Request, keys: list[Key]) -> tuple[list[Any], bool] | None:
        text = request.query_params.get(self.cursor_query_param)
        if text is None:
            return None
        refused = ValidationError({self.cursor_query_param: [
            _("This cursor is not one this list gave: follow the next and previous links as given.")]})
        try:
            padded = text + "=" * (-len(text) % 4)
            body = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error, RecursionError):
            raise refused from None
        if not isinstance(body, dict) or set(body) != {"o", "v", "r"} or not isinstance(body["v"], list) \
                or not isinstance(body["r"], bool) or len(body["v"]) != len(keys):
            raise refused
        if body["o"] != self.signature:
            raise ValidationError({self.cursor_query_param: [
                _("This cursor belongs to another ordering: start again from the first page.")]})
        try:
            values = [decoded(key, value) for key, value in zip(keys, body["v"], strict=True)]
        except ValueError:
            raise refused from None
        return values, body["r"]

    def link(self, values: list[Any] | None, reverse: bool) -> str | None:
        if values is None:
            return None
        body = {"o": self.signature, "v": [encoded(value) for value in values], "r": reverse}
        token = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        return self.link(self.next_values, False)

    def get_previous_link(self) -> str | None:
        return self.link(self.previous_values, True)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page; null on the last."},
                "previous": {**link, "description": "The page before; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Where the page starts: as the next and previous links give it.",
             "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Rows per page, 1 to {self.max_page_size}.",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size,
                        "default": self.page_size}},
        ]


def encoded(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def decoded(key: Key, value: Any) -> Any:
    """A cursor's value for `key`, refused (ValueError) unless the list could have made it."""
    if value is None:
        if not key.nullable:
            raise ValueError(key.name)
        return None
    if key.kind == "moment":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is None or moment.tzinfo is None:
            raise ValueError(key.name)
        try:
            # In UTC, as the list wrote it; an offset can push a moment out of the years
            # the databases hold.
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise ValueError(key.name) from None
        if not 1 < moment.year < 9999:
            raise ValueError(key.name)
        return moment
    if key.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise ValueError(key.name)
        return value
    if not isinstance(value, str) or len(value) > LONGEST_TEXT_KEY or "\x00" in value:
        raise ValueError(key.name)
    return value


class CasePagination(CursorPagination):
    """The case list's pages; by nearest deadline (next_due_at) forward, read from the
    other side when it can be, as workflow.queues.NearestDueFirst reads the queue's.

    Sorting the cases by their nearest open deadline makes the database find that
    deadline for every case selected before the first row comes out: a second over a
    county's hundred thousand open cases. Instead, a window of the earliest open
    deadlines after the cursor, each case at its earliest (the partial index
    deadline_open_due), then which of their cases are selected, in that order. When the
    window holds the page, the page is right: a selected case outside the window comes
    after every case in it. The window is eight times the page, then LARGEST_WINDOW;
    when neither holds the page (a narrow selection, or the cases without an open
    deadline that come last), the plain sort answers."""

    LARGEST_WINDOW = 4000

    def page_keys(self, queryset: Any, keys: list[Key], values: list[Any] | None, reverse: bool,
                  limit: int) -> list[tuple[Any, ...]]:
        nearest_first = [(k.name, k.descending) for k in keys] == [("next_due_at", False), ("pk", False)]
        if nearest_first and not reverse and (values is None or values[0] is not None):
            for size in dict.fromkeys((min(8 * limit, self.LARGEST_WINDOW), self.LARGEST_WINDOW)):
                found, complete = self.from_window(queryset, values, limit, size)
                if found is not None:
                    return found
                if complete:
                    break
        return super().page_keys(queryset, keys, values, reverse, limit)

    def from_window(self, cases: Any, values: list[Any] | None, limit: int,
                    size: int) -> tuple[list[tuple[Any, int]] | None, bool]:
        """The page's (due, id) from a window of `size` earliest deadlines after the
        cursor, or None when it does not hold `limit` of the cases; and whether the
        window held every open deadline after the cursor (a larger one would hold no more)."""
        earlier = Deadline.objects.filter(case=OuterRef("case"), met_at__isnull=True).filter(
            Q(due_at__lt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), pk__lt=OuterRef("pk")))
        firsts = Deadline.objects.filter(met_at__isnull=True).exclude(Exists(earlier))
        if values is not None:
            due, pk = values
            firsts = firsts.filter(due_at__gte=due).filter(Q(due_at__gt=due) | Q(case_id__gt=pk))
        window = list(firsts.order_by("due_at", "case_id").values_list("due_at", "case_id")[:size])
        # A literal list: the database reads these cases by primary key rather than
        # planning a join of the deadlines with the whole selection.
        chosen = set(cases.filter(pk__in=[pk for _, pk in window]).order_by().values_list("pk", flat=True))
        ordered = [(due, pk) for due, pk in window if pk in chosen]
        if len(ordered) >= limit:
            return ordered[:limit], True
        return None, len(window) < size
