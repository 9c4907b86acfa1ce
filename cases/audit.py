"""The audit trail's hash chain (tamper evidence; `verify_audit` in docs/interfaces.md).

Each CaseEvent carries `hash` = sha256 over a canonical serialisation of its content and
`prev_hash`, the hash of the event before it in the same case (by id, the order the rows
were written in). Editing a row breaks its own hash; deleting or reordering rows breaks
the link of the row after. The chain is computed when a row is inserted, in the same
transaction, under the lock of the case row — the lock the transition service takes —
so two writers appending to one case never both link to the same predecessor.

What a chain cannot show on its own: the last events of a case deleted together, or a
tail rewritten by someone who recomputes every hash after it. Keeping the heads
somewhere else (a printed ledger, another system) would close that; not done here.
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
from django.db.models import Max

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
    be inserted in). Must run inside the transaction that inserts them."""
    from .models import Case, CaseEvent

    if not events:
        return
    case_ids = sorted({e.case_id for e in events})
    # The lock first, in its own statement, in id order (no deadlock between two writers
    # taking several cases). The heads are read in the next statement: on PostgreSQL
    # (READ COMMITTED) each statement gets a fresh snapshot, so it sees the event the
    # previous lock holder committed; a subquery inside the locking statement would not.
    list(Case.objects.using(using).select_for_update(of=("self",)).filter(pk__in=case_ids)
         .order_by("pk").values_list("pk", flat=True))
    last_ids = (CaseEvent.objects.using(using).filter(case_id__in=case_ids).order_by()
                .values("case_id").annotate(last=Max("pk")).values("last"))
    heads: dict[int, str] = dict(
        CaseEvent.objects.using(using).filter(pk__in=last_ids).values_list("case_id", "hash"))
    for event in events:
        event.prev_hash = heads.get(event.case_id, GENESIS)
        event.hash = event_hash(**content_of(event), prev_hash=event.prev_hash)
        heads[event.case_id] = event.hash


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


def verify(*, chunk: int = 1000, tally: Tally | None = None) -> Iterator[Breach]:
    """Every case's first bad row, case by case in id order. Streams: `chunk` cases at a
    time (two queries per chunk), their events read through a cursor, one case held in
    memory at a time."""
    from .models import Case, CaseEvent

    tally = tally if tally is not None else Tally()
    after = 0
    while True:
        cases = list(Case.objects.filter(pk__gt=after).order_by("pk").values_list("pk", "number")[:chunk])
        if not cases:
            return
        numbers = dict(cases)
        # A range of case ids walks the (case, id) index in order.
        events: Iterable[dict[str, Any]] = (
            CaseEvent.objects.filter(case_id__gte=cases[0][0], case_id__lte=cases[-1][0])
            .order_by("case_id", "pk").values(*ROW).iterator(chunk_size=2000)
        )
        tally.cases += len(cases)
        for case_id, group in groupby(events, key=lambda r: r["case_id"]):
            rows = list(group)
            tally.events += len(rows)
            found = first_breach(rows)
            if found is not None:
                yield Breach(case_id, numbers.get(case_id, "?"), *found)
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
