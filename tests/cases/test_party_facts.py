"""The facts the printed forms need of parties and cases (sex, ethnicity, date of birth,
occupation; when and where a matter arose), checked once for every door: the ID number's
facts (GB 11643-1999), the ethnic groups of GB/T 3304, and dates that cannot be. Through
workflow.services.report_case, which the page, the API, the import and the seed all call;
each door's own tests are beside its code's."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from cases import ethnicity, personal_data
from cases.models import Case, CaseEvent, Party, Sex
from cases.validators import id_facts, validate_id_number
from tests.conftest import DISPUTE, PARTIES, Cast, local
from workflow import services
from workflow.errors import InvalidData
from workflow.models import Deadline

pytestmark = pytest.mark.django_db

NOW = local(2026, 3, 10, 9, 0)
FEMALE_ID = PARTIES[0]["id_number"]  # 11010519491231002X: born 1949-12-31, 17th digit 2
MALE_ID = "110105198005060010"  # born 1980-05-06, 17th digit 1
GIRL_ID = "110105201007150022"  # born 2010-07-15, 17th digit 2


@pytest.fixture(autouse=True)
def _clock(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def register(cast: Cast, *parties: dict[str, Any], at: Any = None, **data: Any) -> Case:
    return services.report_case(actor=cast.alice, data={**DISPUTE, "village": cast.dongwan.pk, **data},
                                parties=list(parties), at=at or NOW, repeats_seen=True)


def refused(cast: Cast, *parties: dict[str, Any], **data: Any) -> dict[str, list[str]]:
    """The errors of a registration that must be refused, after checking nothing was written."""
    with pytest.raises(InvalidData) as problem:
        register(cast, *parties, **data)
    assert Case.objects.count() == Party.objects.count() == CaseEvent.objects.count() == Deadline.objects.count() == 0
    return problem.value.errors


def stored(case: Case) -> list[tuple[Any, ...]]:
    return list(case.parties.order_by("pk").values_list("name", "sex", "birth_date", "ethnicity", "occupation",
                                                        "address"))


# --- the ID number's facts ---------------------------------------------------------


@pytest.mark.parametrize("number, born, sex", [
    (FEMALE_ID, date(1949, 12, 31), "female"),
    (FEMALE_ID.lower(), date(1949, 12, 31), "female"),
    (MALE_ID, date(1980, 5, 6), "male"),
    (GIRL_ID, date(2010, 7, 15), "female"),
])
def test_an_id_number_gives_its_birth_date_and_sex(number: str, born: date, sex: str) -> None:
    assert id_facts(number) == (born, sex)
    assert sex in Sex.values


@pytest.mark.parametrize("number", ["", "11010519491231002", "110105194912310021", "110105194902300026"])
def test_an_invalid_id_number_gives_no_facts(number: str) -> None:
    with pytest.raises(ValidationError):
        id_facts(number)


def test_an_id_number_born_after_today_does_not_exist(cast: Cast) -> None:
    from cases.validators import id_check_char

    tomorrow = "110105" + "20260311" + "001"
    with pytest.raises(ValidationError) as problem:
        validate_id_number(tomorrow + id_check_char(tomorrow))
    assert problem.value.code == "id_birth"
    today = "110105" + "20260310" + "001"
    validate_id_number(today + id_check_char(today))


# --- the ethnic groups ---------------------------------------------------------------


def test_the_ethnic_groups_are_the_56_of_gb_t_3304_and_its_two_others() -> None:
    names = ethnicity.ETHNICITIES
    assert len(names) == len(set(names)) == 58
    assert (names[0], names[1], names[55]) == ("汉族", "蒙古族", "基诺族")
    assert all(name.endswith("族") for name in names[:56])
    assert names[56:] == ("其他", "外国血统中国籍人士")
    assert ethnicity.CHOICES[0] == ("汉族", "汉族")
    assert all(len(name) <= Party._meta.get_field("ethnicity").max_length for name in names)


@pytest.mark.parametrize("text, name", [("汉族", "汉族"), ("蒙古", "蒙古族"), (" 回 ", "回族"), ("其他", "其他"),
                                        ("火星族", None), ("", None), ("族", None)])
def test_a_group_is_found_by_its_full_or_short_name(text: str, name: str | None) -> None:
    assert ethnicity.by_name(text) == name


# --- registering: what the database holds -----------------------------------------------


def test_sex_and_birth_date_left_out_are_read_from_the_id_number(cast: Cast) -> None:
    case = register(cast, {"name": "张三", "role": "applicant", "id_number": FEMALE_ID},
                    {"name": "王五", "role": "respondent", "id_number": MALE_ID})
    assert stored(case) == [("张三", "female", date(1949, 12, 31), "", "", ""),
                            ("王五", "male", date(1980, 5, 6), "", "", "")]


def test_facts_agreeing_with_the_id_number_are_kept_with_the_rest(cast: Cast) -> None:
    case = register(cast, {"name": "张三", "role": "applicant", "id_number": FEMALE_ID, "sex": "female",
                           "birth_date": "1949-12-31", "ethnicity": "回族", "occupation": "农民",
                           "address": "青阳县柳林镇东湾村三组"})
    assert stored(case) == [("张三", "female", date(1949, 12, 31), "回族", "农民", "青阳县柳林镇东湾村三组")]


def test_without_an_id_number_the_facts_are_as_given_or_left_blank(cast: Cast) -> None:
    case = register(cast, {"name": "李四", "role": "applicant", "sex": "male", "birth_date": "1975-02-03",
                           "ethnicity": "满族", "occupation": "个体工商户"},
                    {"name": "某公司", "role": "respondent"})
    assert stored(case) == [("李四", "male", date(1975, 2, 3), "满族", "个体工商户", ""),
                            ("某公司", "", None, "", "", "")]


@pytest.mark.parametrize("given, field", [
    ({"sex": "male"}, "sex"),
    ({"birth_date": "1949-12-30"}, "birth_date"),
    ({"sex": "male", "birth_date": "1950-01-01"}, "birth_date"),
])
def test_facts_contradicting_the_id_number_are_refused_by_name(cast: Cast, given: dict[str, str], field: str) -> None:
    errors = refused(cast, PARTIES[1], {"name": "张三", "role": "applicant", "id_number": FEMALE_ID, **given})
    assert f"parties[2].{field}" in errors
    message = " ".join(errors[f"parties[2].{field}"])
    assert "ID number" in message or "身份证" in message
    # Named with the ID number's own fact, so the person typing sees which is wrong.
    assert ("1949-12-31" if field == "birth_date" else str(Sex.FEMALE.label)) in message


@pytest.mark.parametrize("party, field", [
    ({"ethnicity": "火星族"}, "ethnicity"),
    ({"ethnicity": "汉"}, "ethnicity"),  # the page and the API take the full name only
    ({"sex": "unknown"}, "sex"),
    ({"birth_date": "2026-03-11"}, "birth_date"),  # tomorrow
    ({"birth_date": "1899-12-31"}, "birth_date"),
    ({"birth_date": "2026-02-30"}, "birth_date"),
    ({"occupation": "农" * 65}, "occupation"),
])
def test_impossible_facts_are_refused_and_nothing_is_written(cast: Cast, party: dict[str, str], field: str) -> None:
    errors = refused(cast, {"name": "李四", "role": "applicant", **party})
    assert list(errors) == [f"parties[1].{field}"]


def test_a_birth_date_of_today_is_taken(cast: Cast) -> None:
    case = register(cast, {"name": "李小宝", "role": "applicant", "birth_date": "2026-03-10"})
    assert case.parties.get().birth_date == date(2026, 3, 10)


# --- when and where the matter arose ----------------------------------------------------


def test_when_and_where_the_matter_arose_are_kept(cast: Cast) -> None:
    case = register(cast, PARTIES[0], occurred_at="2026-03-08T14:30", occurred_place="东湾村三组水塘边")
    case.refresh_from_db()
    assert (case.occurred_at, case.occurred_place) == (local(2026, 3, 8, 14, 30), "东湾村三组水塘边")
    assert CaseEvent.objects.get(case=case).data["occurred_at"] == local(2026, 3, 8, 14, 30).isoformat()


def test_a_case_without_them_leaves_them_blank(cast: Cast) -> None:
    case = register(cast, PARTIES[0])
    case.refresh_from_db()
    assert (case.occurred_at, case.occurred_place) == (None, "")


@pytest.mark.parametrize("occurred, at", [
    ("2026-03-10T10:00", NOW),  # an hour ahead of now
    ("2026-03-05T10:00", local(2026, 3, 5, 9, 0)),  # after a registration recorded in the past
    ("1899-12-31T23:00", NOW),
    ("9999-12-31T23:59", NOW),
    ("0001-01-01T00:00", NOW),
    ("2026-03-08T25:00", NOW),
])
def test_a_matter_cannot_arise_in_the_future_nor_after_its_registration(cast: Cast, occurred: str, at: Any) -> None:
    errors = refused(cast, PARTIES[0], occurred_at=occurred, at=at)
    assert list(errors) == ["occurred_at"]


def test_the_refusal_says_when_the_case_was_registered(cast: Cast) -> None:
    with pytest.raises(InvalidData) as problem:
        register(cast, PARTIES[0], occurred_at="2026-03-05T10:00", at=local(2026, 3, 5, 9, 0))
    assert "2026-03-05 09:00" in " ".join(problem.value.errors["occurred_at"])


def test_a_matter_may_arise_the_moment_it_is_registered(cast: Cast) -> None:
    case = register(cast, PARTIES[0], occurred_at="2026-03-05T09:00", at=local(2026, 3, 5, 9, 0))
    assert case.occurred_at == local(2026, 3, 5, 9, 0)


# --- what of a birth date may be shown ---------------------------------------------------


@pytest.mark.parametrize("on, years", [(date(2026, 3, 10), 76), (date(2026, 12, 30), 76), (date(2026, 12, 31), 77)])
def test_the_age_counts_full_years(on: date, years: int) -> None:
    assert personal_data.age(date(1949, 12, 31), on) == years


def test_a_birth_date_is_shown_only_with_the_full_id_number_and_otherwise_the_age(cast: Cast) -> None:
    party = Party(name="张三", birth_date=date(1949, 12, 31))
    assert personal_data.birth_shown(party, full=True) == (date(1949, 12, 31), 76)
    assert personal_data.birth_shown(party, full=False) == (None, 76)
    assert personal_data.birth_shown(Party(name="某公司"), full=True) == (None, None)
