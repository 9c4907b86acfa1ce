"""The audit trail's hash chain (tamper evidence; `verify_audit` in docs/interfaces.md).

Each CaseEvent carries `hash` = sha256 over a canonical serialisation of its content and
`prev_hash`, the hash of the event before it in the same case (by id, the order the rows
were written in). Editing a row breaks its own hash; deleting or reordering rows breaks
the link of the row after. The chain is computed when a row is inserted, in the same
transaction, under the lock of the case row — the lock the transition service takes —
so two writers appending to one case never both link to the same predecessor.

The head of each chain, the hash of the case's newest event, is kept on the case row
(Case.audit_head) and moved on in the same transaction: the transition service saves it
with the case's own changes (`append`), other writers through `chain`. So the newest
events of a case deleted together show as well. What it cannot show: a tail rewritten by
someone who recomputes every hash after it and the head too. Keeping the heads somewhere
else as well (a printed ledger, another system) would close that; not done here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import F, Value, When
from django.utils import timezone

# The first event of a case links to nothing.
GENESIS = ""
# Bumped if the serialisation ever changes, so old and new rows stay verifiable.
VERSION = 1
# The columns that make an event's content, in the order the chain reads them.
CONTENT = ("case_id", "kind", "from_stage", "to_stage", "actor_id", "at", "data")


def canonical(*, case_id: int, kind: str, from_stage: str, to_stage: str, actor_id: int | None,
              at: datetime, data: Any, prev_hash: str) -> bytes:
    """The bytes an event's hash is taken over: the same for a row about to be written
    and for the row read back from SQLite or PostgreSQL (jsonb reorders keys; datetimes
    come back in UTC)."""
    when = at.astimezone(UTC).isoformat(timespec="microseconds")
    # Round-trip the data through JSON first: tuples become lists, integer keys strings,
    # exactly as the JSON column will return them.
    plain = json.loads(json.dumps(data))
    return json.dumps(
        [VERSION, case_id, kind, from_stage, to_stage, actor_id, when, plain, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    ).encode()


def event_hash(**content: Any) -> str:
    return hashlib.sha256(canonical(**content)).hexdigest()


def content_of(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CONTENT}


def chain(events: Sequence[Any], *, using: str) -> None:
    """Set prev_hash and hash on unsaved events, in the order given (the order they will
    be inserted in), and move each case's head (Case.audit_head) on. Must run inside the
    transaction that inserts them."""
    from .models import Case

    if not events:
        return
    case_ids = sorted({e.case_id for e in events})
    # Lock and read the heads in one statement, in id order (no deadlock between two
    # writers taking several cases). On PostgreSQL a row locked FOR UPDATE is returned as
    # the previous lock holder committed it, head included.
    heads: dict[int, str] = dict(Case.objects.using(using).select_for_update(of=("self",)).filter(pk__in=case_ids)
                                 .order_by("pk").values_list("pk", "audit_head"))
    for event in events:
        link(event, heads.get(event.case_id, GENESIS))
        heads[event.case_id] = event.hash
    write_heads(heads, using=using)


def link(event: Any, head: str) -> None:
    """Chain `event` to `head`, the hash of the event before it in its case."""
    event.prev_hash = head
    event.hash = event_hash(**content_of(event), prev_hash=head)


def write_heads(heads: dict[int, str], *, using: str) -> None:
    """Store each case's new head, in one statement however many cases."""
    from .models import Case

    # A new event is a change of the case: the same statement marks it updated (Case.updated_at).
    now = timezone.now()
    if len(heads) == 1:
        [(pk, head)] = heads.items()
        Case.objects.using(using).filter(pk=pk).update(audit_head=head, updated_at=now)
        return
    Case.objects.using(using).filter(pk__in=list(heads)).update(
        audit_head=SqlCase(*(When(pk=pk, then=Value(head)) for pk, head in heads.items()), default=F("audit_head")),
        updated_at=now)


def append(case: Any, event: Any) -> None:
    """Chain `event` to `case`, a row the caller has locked and loaded in this
    transaction (the transition service's lock), and move the head on the instance: the
    caller saves `audit_head` with the rest of the case's changes, before inserting the
    event. The event then reads and writes no other row (linked_by)."""
    link(event, case.audit_head)
    case.audit_head = event.hash
    event._linked_to_head = case.audit_head


def linked_by(event: Any) -> bool:
    """Whether `append` chained `event`: its hash is the head its case was given."""
    return bool(event.hash) and getattr(event, "_linked_to_head", None) == event.hash


@dataclass(frozen=True)
class Breach:
    """The first bad row of one case's trail."""

    case_id: int
    case_number: str
    event_id: int
    problem: str

    def __str__(self) -> str:
        return f"case {self.case_number} (id {self.case_id}), event {self.event_id}: {self.problem}"


@dataclass
class Tally:
    cases: int = 0
    events: int = 0


ROW = ("pk", "prev_hash", "hash", *CONTENT)


def first_breach(rows: Sequence[dict[str, Any]]) -> tuple[int, str] | None:
    """The first bad row of one case's events (in id order) and what is wrong with it."""
    known = {r["hash"] for r in rows}
    expected = GENESIS
    for row in rows:
        if not row["hash"]:
            return row["pk"], "no hash: the row was written around the audit chain"
        content = {name: row[name] for name in CONTENT}
        if event_hash(**content, prev_hash=row["prev_hash"]) != row["hash"]:
            return row["pk"], "content edited: the row no longer matches its hash"
        if row["prev_hash"] != expected:
            if row["prev_hash"] in known:
                return row["pk"], "reordered: the row links to another event of the case than the one before it"
            return row["pk"], ("broken link: the event before it was deleted, or rewritten "
                               "(the row links to an event that is not there)")
        expected = row["hash"]
    return None


TAIL_CUT = "the newest events were deleted: the case's head names an event that is not there"


def cut_tail(rows: Sequence[dict[str, Any]], head: str) -> tuple[int, str] | None:
    """The case's newest row, when its hash is not the head kept on the case row."""
    return (rows[-1]["pk"], TAIL_CUT) if rows[-1]["hash"] != head else None


def verify(*, chunk: int = 1000, tally: Tally | None = None) -> Iterator[Breach]:
    """Every case's first bad row, case by case in id order. Streams: `chunk` cases at a
    time (two queries per chunk), their events read through a cursor, one case held in
    memory at a time."""
    from .models import Case, CaseEvent

    tally = tally if tally is not None else Tally()
    after = 0
    while True:
        cases = list(Case.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "number", "audit_head")[:chunk])
        if not cases:
            return
        numbers = {pk: number for pk, number, _head in cases}
        heads = {pk: head for pk, _number, head in cases}
        # A range of case ids walks the (case, id) index in order.
        events: Iterable[dict[str, Any]] = (
            CaseEvent.objects.filter(case_id__gte=cases[0][0], case_id__lte=cases[-1][0])
            .order_by("case_id", "pk").values(*ROW).iterator(chunk_size=2000)
        )
        tally.cases += len(cases)
        for case_id, group in groupby(events, key=lambda r: r["case_id"]):
            rows = list(group)
            tally.events += len(rows)
            head = heads.pop(case_id, GENESIS)
            found = first_breach(rows) or cut_tail(rows, head)
            if found is not None:
                yield Breach(case_id, numbers.get(case_id, "?"), *found)
        for case_id, head in heads.items():  # cases without a single event left
            if head != GENESIS:
                yield Breach(case_id, numbers[case_id], 0, TAIL_CUT)
        after = cases[-1][0]


def backfill(case_model: Any, event_model: Any, *, using: str, chunk: int = 500) -> None:
    """Hash the events written before the chain existed (the data migration), in the
    same order the chain reads them; chunk by chunk of cases, so memory stays flat."""
    after = 0
    while True:
        case_ids = list(case_model.objects.using(using).filter(pk__gt=after).order_by("pk")
                        .values_list("pk", flat=True)[:chunk])
        if not case_ids:
            return
        with transaction.atomic(using=using):
            events = list(event_model.objects.using(using)
                          .filter(case_id__gte=case_ids[0], case_id__lte=case_ids[-1]).order_by("case_id", "pk"))
            heads: dict[int, str] = {}
            for event in events:
                event.prev_hash = heads.get(event.case_id, GENESIS)
                event.hash = event_hash(**content_of(event), prev_hash=event.prev_hash)
                heads[event.case_id] = event.hash
            event_model.objects.using(using).bulk_update(events, ["prev_hash", "hash"], batch_size=500)
        after = case_ids[-1]
