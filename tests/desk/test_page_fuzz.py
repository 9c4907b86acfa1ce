"""Property-based fuzzing of every page form and query filter, as tests/api/test_api_fuzz.py
does for the API: no input ends in a server error, and a refused form changes nothing.

The doors are found, not listed: every page of the URLconf (tests.doors.page_routes) is
read as each role of the cast, every <form> on it is parsed (method, action, fields and
the values it offers) and the query names of its links are collected, so a page or a
field added later is fuzzed too. Each door is then sent

- the sweep, on every run: the form as offered; every field at once holding one awkward
  value ("²", which passes str.isdigit() but not int(), a huge number, a lone surrogate
  as a browser would send its bytes, NUL, non-BMP text, 10,000 characters, an impossible
  date …); and the form as offered with each awkward text in its free-text fields, so
  the text reaches the service behind the form;
- Hypothesis's examples: field by field the values offered, real ids of the world, the
  awkward values or generated text (surrogates included), a field left out or repeated.

Every answer is below 500. A query filter, and a POST refused (4xx, the form again with
its errors, or an error message alone), leave the database as they found it; what a POST
took is kept as typed, never with half a character (a lone surrogate, or the U+FFFD its
bytes become). Each request runs in a savepoint rolled back afterwards, so every example
meets the same world and a failure replays. PAGE_FUZZ_EXAMPLES (Hypothesis examples per
door, default 2) digs deeper by hand."""

from __future__ import annotations

import importlib
import os
import re
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urljoin, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, OrgUnit, ScreeningReturn
from desk.scope import last_month
from notifications.models import Notification
from screening.returns import submit_return
from tests.conftest import Cast, local, report, token_for
from tests.desk.test_screening_pages import in_last_month
from tests.doors import page_routes, rows, state
from tests.workflow.test_permissions import (
    escalated,
    investigating,
    resolved,
    with_extension_requested,
    with_paused_clock,
    with_supervision_order,
)
from workflow import services
from workflow.models import Deadline, SupervisionOrder

pytestmark = pytest.mark.django_db

FUZZ = settings(
    # Bounded for CI; PAGE_FUZZ_EXAMPLES=300 digs deeper by hand.
    max_examples=int(os.environ.get("PAGE_FUZZ_EXAMPLES", 2)),
    deadline=None,
    database=None,  # nothing written to the working tree; failures print their values
    # The world is seeded per test on purpose; generation speed is not the subject.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)

# Who reads the pages: a person of each role, and nobody (the login page).
READERS = ["", "alice", "mia", "olga", "sam", "vic", "lena", "cora", "carl"]

SURROGATE = "\ud800"  # sent as its UTF-8-like bytes %ED%A0%80, as a broken client would
LONG = "调" * 10_000
# Each broke, or could break, a door: tried at every door on every run.
AWKWARD: list[str | bytes] = ["²", "-1", "99999999999999999999999", "", LONG, "😀𠀀", SURROGATE, "a\x00b", "2026-02-30"]
# The awkward values that are text: the sweep also puts them in the free-text fields of
# the form as offered, so that they reach the service and the database behind it.
AWKWARD_TEXT = [LONG, "😀𠀀", SURROGATE, "a\x00b"]
FREE_TEXT = {"text", "textarea", "search"}
# Just past the database's integers: the sweep puts it in each other field in turn, the
# form otherwise as offered (a returned case's id once reached SQLite so).
PAST_INTEGERS = str(2**63)
# More of the same kind, for Hypothesis to mix in.
ODD: list[str | bytes] = [
    "١٢", "１２", "0", "1e400", b"\xff", "NaN", "Infinity", " ", "\ufffd", b"\xed\xa0\x80\xed\xb0\x80", "<b>&amp;",
    "0000-00-00", "2026-13", "2026-H3", "2026-3-4", "2026/03/04", "04.03.2026", "20260304", "2026-W10",
    "9999-12-31", "10000-01-01", "2026-02-29", "-2026-01", "1900-01", "all", "on", "null", "[]",
]
FILE_NAMES = ["协议书.pdf", "scan.exe", "../../etc/passwd", "a" * 300 + ".pdf", "", "𠀀.pdf", SURROGATE + ".pdf",
              "x.PDF", "no-extension"]


# ---------------------------------------------------------------------------------------
# The world: cases in every stage, clocks, orders, notifications, a month to file and a
# concealment suspect for the meeting.

@dataclass
class World:
    cast: Cast
    ids: list[str]
    clients: dict[str, Client] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    before: Any = None  # the database as every example meets it (tests.doors.rows)


def seed(cast: Cast) -> list[Case]:
    mediating = services.transition(investigating(cast), "start_mediation", actor=cast.mia,
                                    at=local(2026, 3, 4, 9), data={"findings": "属实。"})
    closed = services.transition(report(cast), "reject", actor=cast.olga, at=local(2026, 3, 3, 9),
                                 data={"reason": "不属于受理范围。"})
    cases = [
        report(cast), investigating(cast), mediating, resolved(cast), escalated(cast), closed,
        with_supervision_order(cast), with_extension_requested(cast), with_paused_clock(cast),
        # A township case without a village; a case of the other township.
        report(cast, actor=cast.olga, village="", responsible_unit=cast.liulin.pk),
        report(cast, actor=cast.nina, village=cast.nanshan.pk),
        # Last month's: one found in screening for 东湾村's return (not filed: alice has a
        # return to file), and one of 西岭村 from the 110 hotline that its nil return does
        # not list (a concealment suspect, for the meeting on any day of the month).
        report(cast, at=in_last_month(5)),
        report(cast, actor=cast.bob, village=cast.xiling.pk, source="110", title="110转来的纠纷",
               at=in_last_month(12)),
    ]
    submit_return(actor=cast.bob, village=cast.xiling, month=last_month(), nil=True, signed_off_by="王村长")
    token_for(cast.olga, "网格通 手机")  # my devices page offers its log-out form
    for i, user in enumerate([cast.olga, cast.mia, cast.alice, cast.sam, cast.olga]):
        Notification.objects.create(user=user, kind="sweep", level="warning", text="超期提醒", case=cases[1],
                                    created_at=local(2026, 3, 4, 9 + i))
    return cases


@pytest.fixture
def world(cast: Cast, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path  # documents uploaded by an example land here
    seed(cast)
    ids = sorted({str(pk) for model in (Case, OrgUnit, Deadline, SupervisionOrder, Notification)
                  for pk in model.objects.values_list("pk", flat=True)}
                 | {str(user.pk) for user in cast.users.values()}, key=int)
    world = World(cast, ids)
    for username in READERS:
        client = Client(raise_request_exception=False)  # a 500 is asserted, with its traceback
        if username:
            client.force_login(cast.users[username])
            world.sessions[username] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        world.clients[username] = client
    world.before = rows()
    return world


# ---------------------------------------------------------------------------------------
# Finding the doors.

@dataclass
class Field:
    kind: str  # the input's type, "select", "textarea" or "file"
    values: set[str] = field(default_factory=set)  # offered: options, hidden and default values


@dataclass
class Door:
    """A form, or a page's query filter, as found: where and how it sends, its fields, and
    who found it at which address (a case page's operation is one door for every case)."""

    method: str
    multipart: bool
    fields: dict[str, Field]  # every field of any of its forms, with all the values offered
    # Who found it, at which address, and what their page offered in each field (one
    # case's deadlines, another person's assignees).
    found: list[tuple[str, str, dict[str, set[str]]]] = field(default_factory=list)


# Links are doors when they carry a query, or print (a case's forms and its file): the
# rest lead to pages the walk reads anyway.
PRINTED = re.compile(r"/desk/case/\d+/(paper/[\w-]+\.pdf|dossier\.pdf)$")


class FormReader(HTMLParser):
    """Every <form> of a page with its fields, including fields placed outside it that
    name it (form="…", as the queue's case boxes name the bulk assignment), and the
    query names of the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        self.placed_elsewhere: list[tuple[str, str, Field]] = []
        self.links: list[str] = []
        self.current: dict[str, Any] | None = None
        self.select: Field | None = None
        self.option: Field | None = None
        self.textarea: Field | None = None

    def add(self, attrs: dict[str, str | None], name: str, kind: str) -> Field:
        found = Field(kind)
        if attrs.get("form"):
            self.placed_elsewhere.append((attrs["form"] or "", name, found))
        elif self.current is not None:
            found = self.current["fields"].setdefault(name, found)
        return found

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        name = attrs.get("name")
        if tag == "form":
            self.current = {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action") or "",
                            "multipart": attrs.get("enctype") == "multipart/form-data", "fields": {}}
            self.forms.append(self.current)
            if attrs.get("id"):
                self.by_id[attrs["id"] or ""] = self.current
        elif tag == "a" and attrs.get("href") and ("?" in (attrs.get("href") or "") or PRINTED.search(attrs["href"] or "")):
            self.links.append(attrs["href"] or "")
        elif tag in ("input", "button") and name:
            kind = "button" if tag == "button" else (attrs.get("type") or "text").lower()
            found = self.add(attrs, name, kind)
            if attrs.get("value") is not None:
                found.values.add(attrs["value"] or "")
            elif kind in ("checkbox", "radio"):
                found.values.add("on")
        elif tag.startswith("vf-field-") and name:
            # viewflow's forms (the login) write each field as an element of its own,
            # which makes the <input> in the browser.
            found = self.add(attrs, name, (attrs.get("type") or tag.removeprefix("vf-field-")).lower())
            if attrs.get("value"):
                found.values.add(attrs["value"] or "")
        elif tag == "select" and name:
            self.select = self.add(attrs, name, "select")
        elif tag == "option" and self.select is not None:
            if attrs.get("value") is not None:
                self.select.values.add(attrs["value"] or "")
            else:
                self.option = self.select
        elif tag == "textarea" and name:
            self.textarea = self.add(attrs, name, "textarea")

    def handle_data(self, data: str) -> None:
        for found in (self.option, self.textarea):
            if found is not None and data.strip():
                found.values.add(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "option":
            self.option = None
        elif tag == "textarea":
            self.textarea = None

    def close(self) -> None:
        super().close()
        for form_id, name, found in self.placed_elsewhere:
            if form_id in self.by_id:
                self.by_id[form_id]["fields"].setdefault(name, found).values |= found.values


def door_name(method: str, path: str) -> str | None:
    """The route a form sends to, with the operation for a case's operations ("POST
    desk:case:operate/note"); None for another site, the API and the admin, which have
    tests of their own."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if path.startswith(("/api/", "/admin/")):
        return None
    name = match.view_name + (f"/{match.kwargs['name']}" if "name" in match.kwargs else "")
    return f"{method.upper()} {name}"


def pages() -> list[str]:
    """What a person opens: every route of the URLconf without arguments, outside the API,
    and each case's page; the others (a case's printed forms and file, its documents) are
    reached through the links and forms of these."""
    urls = []
    for route, pattern in page_routes():
        if pattern.startswith(("api/", "jsi18n/")):
            continue
        if "<" not in pattern and "(?P" not in pattern:
            urls.append(reverse(route))
    return urls + [reverse("desk:case:detail", args=[pk]) for pk in Case.objects.values_list("pk", flat=True)]


def find_doors(world: World, readers: list[str] = READERS, urls: list[str] | None = None) -> dict[str, Door]:
    """The doors by name, each with every field any of its forms (or links) has."""
    doors: dict[str, Door] = {}

    def found(method: str, url: str, multipart: bool, fields: dict[str, Field], username: str) -> None:
        path = urlsplit(url).path
        name = door_name(method, path)
        if name is None:
            return
        door = doors.setdefault(name, Door(method, multipart, {}))
        for field_name, seen in fields.items():
            door.fields.setdefault(field_name, Field(seen.kind)).values |= seen.values
        door.found.append((username, url if method == "post" else path,
                           {field_name: seen.values for field_name, seen in fields.items()}))

    for username in readers:
        for url in urls or pages():
            response = request(world, username, "get", url)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            reader = FormReader()
            reader.feed(response.content.decode())
            reader.close()
            for form in reader.forms:
                found(form["method"], urljoin(url, form["action"]), form["multipart"], form["fields"], username)
            for link in reader.links:
                target = urljoin(url, link)
                names = {name: Field("link", {value}) for name, value in
                         parse_qsl(urlsplit(target).query, keep_blank_values=True)}
                found("get", target, False, names, username)
    return doors


# ---------------------------------------------------------------------------------------
# Knocking.

def raw(value: str | bytes) -> bytes:
    # A lone surrogate goes out as the bytes a broken client sends; the server decodes.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def urlencoded(pairs: list[tuple[str, Any]]) -> str:
    return "&".join(f"{quote_from_bytes(raw(k))}={quote_from_bytes(raw(v))}" for k, v in pairs)


def multipart(pairs: list[tuple[str, Any]], door: Door) -> tuple[bytes, str]:
    """The body a browser sends for a form with a file, written out by hand: the test
    client's own encoder refuses surrogates."""
    boundary = b"----page-fuzz-7MA4YWxkTrZu0gW"

    def quoted(value: str | bytes) -> bytes:
        # As browsers write names in the header (HTML's multipart/form-data encoding).
        return raw(value).replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")

    parts = []
    for name, value in pairs:
        head = b'Content-Disposition: form-data; name="' + quoted(name) + b'"'
        if door.fields[name].kind == "file":
            filename, content = value if isinstance(value, tuple) else (value, b"%PDF-1.4")
            head += b'; filename="' + quoted(filename) + b'"\r\nContent-Type: application/octet-stream'
        else:
            content = raw(value)
        parts.append(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n")
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode()}"


def request(world: World, username: str, method: str, url: str, pairs: list[tuple[str, Any]] | None = None,
            door: Door | None = None) -> Any:
    client = world.clients[username]
    # Only the session: what an earlier example left (a message, a language) is not carried.
    client.cookies = SimpleCookie()
    if username:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = world.sessions[username]
    if method == "get":
        query = urlencoded(pairs or [])
        return client.get(url + ("?" + query if query else ""))
    if door is not None and door.multipart:
        body, content_type = multipart(pairs or [], door)
        return client.post(url, data=body, content_type=content_type)
    return client.post(url, data=urlencoded(pairs or []).encode("ascii"),
                       content_type="application/x-www-form-urlencoded")


# How the pages show a refusal: Django's error lists, the desk's boxes and marked fields,
# viewflow's form errors (the login).
ERROR_MARKS = ('class="errorlist', 'class="problem"', "has-error", "vf-form__error", ' error="')


def refused(response: Any) -> bool:
    """A 4xx, an error message alone, or the page again with its form's errors."""
    if response.status_code >= 400:
        return True
    levels = {m.level for m in get_messages(response.wsgi_request)}
    if messages.ERROR in levels:
        return messages.SUCCESS not in levels
    if response.status_code == 200 and not response.streaming:
        page = response.content.decode(errors="replace")
        return any(mark in page for mark in ERROR_MARKS)
    return False


def knock(world: World, name: str, door: Door, which: int, values: dict[str, list[Any]]) -> None:
    """Send `values` through the door as its `which`-th finder, in a savepoint rolled back
    afterwards: no server error, nothing changed by a query or a refusal, nothing
    unreadable kept."""
    username, url, _offered = door.found[which % len(door.found)]
    pairs = [(field_name, value) for field_name, sent in values.items() for value in sent]
    with transaction.atomic():
        response = request(world, username, door.method, url, pairs, door)
        where = f"{name} as {username or 'nobody'} at {url} with {short(pairs)}"
        if response.status_code >= 500:
            failure = getattr(response, "exc_info", None)
            cause = "".join(traceback.format_exception(*failure)[-3:]) if failure else ""
            raise AssertionError(f"{response.status_code} from {where}\n{cause}")
        # A query filter never writes; nor does a refused form.
        if door.method == "get" or refused(response):
            assert rows() == world.before, f"{response.status_code}, changed the database: {where}"
        else:
            # What was taken is kept as typed, never half a character or the mark of one.
            kept = [text for text in texts(state()) if UNREADABLE.search(text)]
            assert not kept, f"{response.status_code}, stored {kept[:3]!r}: {where}"
        transaction.set_rollback(True)


UNREADABLE = re.compile("[\ud800-\udfff\ufffd]")


def texts(value: Any) -> Any:
    """Every string in a state() snapshot, JSON data included; not an upload's own name,
    which is the file's and not typed (Django drops a part whose name does not decode)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "original_name":
                yield from texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from texts(item)


def short(pairs: list[tuple[str, Any]]) -> str:
    return repr([(k, v if len(str(v)) < 60 else f"{str(v)[:20]}…({len(str(v))} chars)") for k, v in pairs])


# What a person types where a page offers nothing, by the field's name, else its type.
TYPED = {"id_number": "320102198506151236", "phone": "13800138000", "people_involved": "2", "amount": "12000.00",
         "signed_off_by": "王村长", "new_password1": "Taken-2026-xyz", "new_password2": "Taken-2026-xyz"}
TYPED_BY_KIND = {"date": "2026-03-04", "number": "3", "email": "olga@example.com", "password": "pw-olga",
                 "file": ("协议书.pdf", b"%PDF-1.4")}


def offered(door: Door, which: int, name: str) -> list[Any]:
    """What the `which`-th finder would send in the field: a value their page offered
    (another finder's if theirs offered none), else what a person would type."""
    values = door.found[which % len(door.found)][2].get(name) or door.fields[name].values
    choices = sorted(v for v in values if v) or sorted(values)
    if choices:
        return choices
    if door.fields[name].kind == "month":
        return [f"{last_month():%Y-%m}"]  # read now: the suite may run with its clocks moved
    return [TYPED.get(name.rsplit("-", 1)[-1]) or TYPED_BY_KIND.get(door.fields[name].kind, "调解记录。")]


def as_offered(door: Door, which: int = 0) -> dict[str, list[Any]]:
    return {name: [offered(door, which, name)[which % len(offered(door, which, name))]] for name in door.fields}


def sweep(world: World, name: str, door: Door) -> None:
    if not door.fields:
        # Nothing to send but the door itself (a printed form, the case file): once. The
        # walk has read every case's page as each person; what a form prints for whom and
        # at which stage is the subject of tests/paper, and laying out a PDF for every
        # person and case would cost minutes.
        knock(world, name, door, 0, {})
        return
    knock(world, name, door, 0, as_offered(door))
    for i, value in enumerate(AWKWARD):
        knock(world, name, door, i, {field_name: [value] for field_name in door.fields})
    for i, value in enumerate(AWKWARD_TEXT):
        typed = {n: [value] for n, f in door.fields.items() if f.kind in FREE_TEXT}
        if typed:
            knock(world, name, door, i, {**as_offered(door, i), **typed})
    for i, (field_name, found) in enumerate(door.fields.items()):
        if found.kind not in FREE_TEXT and field_name != "csrfmiddlewaretoken":
            knock(world, name, door, i, {**as_offered(door, i), field_name: [PAST_INTEGERS]})


def field_strategy(door: Door, which: int, name: str, ids: list[str]) -> st.SearchStrategy[list[Any]]:
    if door.fields[name].kind == "file":
        one: st.SearchStrategy[Any] = st.tuples(st.sampled_from(FILE_NAMES) | st.text(max_size=20),
                                                st.binary(max_size=64))
    else:
        plausible = st.sampled_from(offered(door, which, name))
        one = st.one_of(
            plausible, plausible, plausible,  # mostly as offered, so the other fields get far
            st.sampled_from(ids),
            st.sampled_from(AWKWARD + ODD),
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.text(st.characters(codec="utf-8") | st.characters(categories=["Cs"]), max_size=40),
        )
    return st.one_of(one.map(lambda v: [v]), one.map(lambda v: [v]), st.just([]), st.lists(one, min_size=2, max_size=3))


def fuzz(world: World, name: str, door: Door) -> None:
    if not door.fields:
        return  # nothing to vary: the sweep knocked at every place it was found

    def values(which: int) -> st.SearchStrategy[dict[str, list[Any]]]:
        return st.fixed_dictionaries({field_name: field_strategy(door, which, field_name, world.ids)
                                      for field_name in door.fields})

    @FUZZ
    @given(which_and_values=st.integers(min_value=0, max_value=len(door.found) - 1).flatmap(
        lambda which: st.tuples(st.just(which), values(which))))
    def examples(which_and_values: tuple[int, dict[str, list[Any]]]) -> None:
        knock(world, name, door, *which_and_values)

    examples()


# ---------------------------------------------------------------------------------------
# The tests.

# Doors the walk must find: if one goes missing, the walk (not the site) changed.
EXPECTED = {
    "GET desk:queue:index", "GET desk:meeting:index", "GET desk:ledgers:index", "GET desk:assessment:index",
    "GET desk:dashboard:index", "GET desk:returns:index",
    "POST desk:intake:index", "POST desk:returns:index", "POST desk:queue:assign", "POST desk:meeting:index",
    "POST desk:workbench:read", "POST desk:workbench:read_all", "POST desk:case:reveal", "POST desk:ledgers:import",
    "POST desk:case:operate/note", "POST desk:case:operate/accept", "POST desk:case:operate/attach_document",
    "POST desk:case:operate/record_session", "POST desk:case:operate/decide_extension",
    "POST desk:case:operate/resume_deadline", "POST desk:case:operate/reply_supervision",
    "POST desk:case:operate/follow_up", "POST desk:case:operate/take_over", "POST desk:case:operate/send_back",
    "POST login", "POST logout", "POST set_language", "POST password_change",
    "GET desk:case:dossier", "GET desk:case:paper/agreement", "POST desk:case:paper_full",
    "GET desk:visits:index", "POST desk:visits:index",
}


# A deeper run by hand outlasts the suite's limit of 300 s for one test.
@pytest.mark.timeout(0 if "PAGE_FUZZ_EXAMPLES" in os.environ else 300)
def test_every_page_door_answers_below_500_and_a_refusal_changes_nothing(world: World) -> None:
    doors = find_doors(world)
    assert set(doors) >= EXPECTED, sorted(EXPECTED - set(doors))
    for name, door in sorted(doors.items()):
        sweep(world, name, door)
        fuzz(world, name, door)


def digits_as_before(text: str | None) -> int | None:
    """How the three doors read an id before desk.responses.form_id: str.isdigit(),
    which takes "²", and int(), which refuses it."""
    text = text or ""
    return int(text) if text.isdigit() and len(text) < 19 else None


@pytest.mark.parametrize("module, reader, page, name", [
    ("desk.queue", "olga", "desk:queue:index", "GET desk:queue:index"),
    ("desk.queue", "olga", "desk:queue:index", "POST desk:queue:assign"),
    ("desk.screening", "alice", "desk:returns:index", "POST desk:returns:index"),
])
def test_the_fuzzer_finds_the_server_errors_of_digits_that_are_not_ascii(
        world: World, monkeypatch: Any, module: str, reader: str, page: str, name: str) -> None:
    """The check can fail: with ids read as before, the sweep finds each 500 that "²"
    caused in the queue's filter, the bulk assignment and the returns."""
    monkeypatch.setattr(importlib.import_module(module), "form_id", digits_as_before)
    door = find_doors(world, [reader], [reverse(page)])[name]
    with pytest.raises(AssertionError, match=f"500 from {name}"):
        sweep(world, name, door)


# ---------------------------------------------------------------------------------------
# What the fuzzer found, pinned. ("²" in the queue's ids, bulk assignment's cases and the
# returns' village: tests/desk/test_pages.py, test_digits_that_are_not_ascii_….)

@pytest.mark.parametrize("target", ["١٢", "not-a-page", "workbench"])
def test_a_next_that_is_no_address_on_this_site_falls_back_to_the_page_of_the_case(cast: Any, client: Any,
                                                                                     target: str) -> None:
    # Found by the fuzzer: `next` without a slash was taken for the name of a view, and a
    # name that is none ended in a server error after the note was recorded.
    case = report(cast)
    client.force_login(cast.olga)
    response = client.post(reverse("desk:case:operate", args=[case.pk, "note"]), {"text": "已电话联系。", "next": target})
    assert response.status_code == 302 and response["Location"] == reverse("desk:case:detail", args=[case.pk])
    assert case.events.filter(kind="note").count() == 1


def test_a_village_worker_accusing_the_top_unit_is_told_beside_the_accused_unit(cast: Any, client: Any) -> None:
    # Found by the fuzzer: the refusal went to the responsible unit, a field the page
    # leaves out for a village worker (their township is responsible): a server error.
    from tests.desk.test_pages import intake_post

    client.force_login(cast.alice)
    response = client.post(reverse("desk:intake:index"), intake_post(
        village=cast.dongwan.pk, kind="petition", petition_type="accusation", accused_unit=cast.county.pk))
    assert response.status_code == 200 and Case.objects.count() == 0
    accused = re.search(r'<label for="id_accused_unit">.*?</div>', response.content.decode(), re.S).group()
    assert "由被检举控告单位的上级单位办理" in accused


def test_a_form_naming_a_million_parties_is_refused_without_building_them(cast: Any, client: Any) -> None:
    # Found by the fuzzer: TOTAL_FORMS is the client's word, and the page built, checked
    # and wrote back up to 1,030 party forms (over a megabyte, seconds of work) for
    # one such request.
    from tests.desk.test_pages import intake_post

    client.force_login(cast.olga)
    response = client.post(reverse("desk:intake:index"), intake_post(
        village=cast.dongwan.pk, **{"parties-TOTAL_FORMS": "1000000"}))
    assert response.status_code == 200 and Case.objects.count() == 0
    html = response.content.decode()
    assert len(set(re.findall(r'name="parties-(\d+)-name"', html))) <= 30
    assert "30" in re.search(r'class="problem">(.*?)</div>', html, re.S).group(1)


# Text outside the Basic Multilingual Plane is text; half of one (a lone surrogate) is
# not, at any door. A page receives a broken client's surrogate bytes as U+FFFD (Django
# decodes forms with errors="replace"), the API as "\ud800" in JSON: both are refused,
# beside the field, by the one rule cases.validators.validate_readable_text.

def post_note(client: Any, case: Any, text: bytes) -> Any:
    return client.post(reverse("desk:case:operate", args=[case.pk, "note"]),
                       data=b"text=" + quote_from_bytes(text).encode(), content_type="application/x-www-form-urlencoded")


def test_a_note_with_a_lone_surrogate_is_refused_on_the_page_and_changes_nothing(cast: Any, client: Any) -> None:
    # Found by the fuzzer: the page stored the replacement characters in the note's place.
    case = report(cast)
    client.force_login(cast.olga)
    response = post_note(client, case, "电话\ud800联系".encode("utf-8", "surrogatepass"))
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert not case.events.filter(kind="note").exists()


def test_a_note_with_a_lone_surrogate_is_refused_by_the_api(cast: Any) -> None:
    # Found by the fuzzer's rule: the API's operations took "\ud800" and the audit hash
    # (UTF-8) failed on it: a server error.
    from rest_framework.test import APIClient

    case = report(cast)
    client = APIClient()
    client.force_authenticate(cast.olga)
    response = client.post(f"/api/v1/cases/{case.pk}/transitions/note/", data='{"text": "电话\\ud800联系"}',
                           content_type="application/json")
    assert response.status_code == 400 and "text" in response.json()["errors"]
    assert not case.events.filter(kind="note").exists()


def test_text_beyond_the_basic_plane_is_kept_as_typed_at_the_page_and_the_api(cast: Any, client: Any) -> None:
    from rest_framework.test import APIClient

    case = report(cast)
    client.force_login(cast.olga)
    assert post_note(client, case, "𠀀氏来电 😀".encode()).status_code == 302
    api = APIClient()
    api.force_authenticate(cast.olga)
    assert api.post(f"/api/v1/cases/{case.pk}/transitions/note/", {"text": "𠀀氏来电 😀"},
                    format="json").status_code == 200
    assert [e.data["text"] for e in case.events.filter(kind="note").order_by("pk")] == ["𠀀氏来电 😀"] * 2


def test_a_concealment_decision_takes_its_reason_as_every_form_takes_text(cast: Any, client: Any) -> None:
    # Found by the fuzzer: the reason was read from the request as it came, NUL and
    # replacement characters included (PostgreSQL's jsonb refuses NUL: a server error).
    hotline = report(cast, source="110", at=in_last_month(12))
    # Decided once the village's return is settled: here, filed nil.
    submit_return(actor=cast.alice, village=cast.dongwan, month=last_month(), nil=True, signed_off_by="王村长")
    client.force_login(cast.olga)
    url = reverse("desk:meeting:index")
    for reason in (b"a\x00b", "知情\ud800未报".encode("utf-8", "surrogatepass"), b"x" * 4001):
        response = client.post(url, data=f"case={hotline.pk}&decision=confirm&reason=".encode() + quote_from_bytes(reason).encode(),
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code == 302
        assert {m.level for m in get_messages(response.wsgi_request)} == {messages.ERROR}
    assert not hotline.events.filter(kind__startswith="concealment").exists()
    client.post(url, {"case": [hotline.pk], "decision": "confirm", "reason": "𠀀氏知情未报。"})
    assert hotline.events.get(kind="concealment_confirmed").data["reason"] == "𠀀氏知情未报。"



def test_the_fuzzer_finds_a_half_character_stored(world: World, monkeypatch: Any) -> None:
    """The check can fail: without the rule of readable text, the sweep of a note finds
    the replacement characters a lone surrogate's bytes became, stored."""
    import cases.forms

    monkeypatch.setattr(cases.forms, "validate_readable_text", lambda text: None)
    case = Case.objects.get(title="110转来的纠纷")
    doors = find_doors(world, ["olga"], [reverse("desk:case:detail", args=[case.pk])])
    with pytest.raises(AssertionError, match="stored"):
        sweep(world, "POST desk:case:operate/note", doors["POST desk:case:operate/note"])


def test_a_return_listing_a_case_number_beyond_the_databases_integers_is_refused(cast: Any, client: Any) -> None:
    # Found by the fuzzer: SQLite cannot hold 2**63, and asking it for such a case ended
    # in a server error.
    client.force_login(cast.alice)
    response = client.post(reverse("desk:returns:index"), {
        "village": cast.dongwan.pk, "month": f"{last_month():%Y-%m}", "cases": [str(2**63), "1"],
        "signed_off_by": "王村长"})
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert not ScreeningReturn.objects.exists()


def test_the_snapshot_of_the_database_sees_one_field_changed(cast: Cast) -> None:
    """The check can fail: rows() (what the knocks compare) changes when one field of one
    row does, as state() does."""
    notification = Notification.objects.create(user=cast.olga, kind="note", level="info", text="超期提醒",
                                               created_at=local(2026, 3, 4, 9))
    before, before_state = rows(), state()
    Notification.objects.filter(pk=notification.pk).update(text="超期提醒。")
    assert rows() != before and state() != before_state
