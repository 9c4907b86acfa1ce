"""The cast every test shares: one county with two townships, villages, departments and
a person in each role.

青阳县 (county)                     carl (supervisor), cora (officer)
├── 柳林镇 (township)               sam (supervisor), olga (officer), mia (mediator), vic (viewer)
│   ├── 东湾村 (village)            alice (reporter)
│   ├── 西岭村 (village)            bob (reporter)
│   ├── 柳林派出所 (department)     pete (liaison)
│   └── 柳林司法所 (department)     lena (liaison)
├── 桃源镇 (township)               owen (officer)
│   └── 南山村 (village)            nina (reporter)
└── 县人社局 (department)           hans (liaison)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from cases.models import Membership, OrgUnit, Role
from workflow import services
from workflow.refdata import invalidate_all

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@dataclass
class Cast:
    county: OrgUnit
    liulin: OrgUnit
    taoyuan: OrgUnit
    dongwan: OrgUnit
    xiling: OrgUnit
    nanshan: OrgUnit
    police: OrgUnit
    justice: OrgUnit
    labour_bureau: OrgUnit
    users: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None


def unit(code: str, name: str, level: str, parent: OrgUnit | None = None) -> OrgUnit:
    return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent)


def person(username: str, *memberships: tuple[OrgUnit, str]) -> Any:
    user = get_user_model().objects.create_user(username, password="pw-" + username)
    for org, role in memberships:
        Membership.objects.create(user=user, unit=org, role=role)
    return user


def build_cast() -> Cast:
    L = OrgUnit.Level
    county = unit("QY", "青阳县", L.COUNTY)
    liulin = unit("QY-LL", "柳林镇", L.TOWNSHIP, county)
    taoyuan = unit("QY-TY", "桃源镇", L.TOWNSHIP, county)
    dongwan = unit("QY-LL-DW", "东湾村", L.VILLAGE, liulin)
    xiling = unit("QY-LL-XL", "西岭村", L.VILLAGE, liulin)
    nanshan = unit("QY-TY-NS", "南山村", L.VILLAGE, taoyuan)
    police = unit("QY-LL-PCS", "柳林派出所", L.DEPARTMENT, liulin)
    justice = unit("QY-LL-SFS", "柳林司法所", L.DEPARTMENT, liulin)
    labour_bureau = unit("QY-RSJ", "县人社局", L.DEPARTMENT, county)
    users = {
        "alice": person("alice", (dongwan, Role.REPORTER)),
        "bob": person("bob", (xiling, Role.REPORTER)),
        "nina": person("nina", (nanshan, Role.REPORTER)),
        "mia": person("mia", (liulin, Role.MEDIATOR)),
        "olga": person("olga", (liulin, Role.OFFICER)),
        "sam": person("sam", (liulin, Role.SUPERVISOR)),
        "vic": person("vic", (liulin, Role.VIEWER)),
        "owen": person("owen", (taoyuan, Role.OFFICER)),
        "cora": person("cora", (county, Role.OFFICER)),
        "carl": person("carl", (county, Role.SUPERVISOR)),
        "pete": person("pete", (police, Role.LIAISON)),
        "lena": person("lena", (justice, Role.LIAISON)),
        "hans": person("hans", (labour_bureau, Role.LIAISON)),
    }
    return Cast(county, liulin, taoyuan, dongwan, xiling, nanshan, police, justice, labour_bureau, users)


@pytest.fixture(autouse=True)
def _fresh_reference_data() -> None:
    # Calendar and rule profiles are cached per process; each test sees its own database.
    invalidate_all()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The cast's passwords protect nothing; PBKDF2 would spend seconds per test on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()


DISPUTE = {
    "kind": "dispute",
    "title": "东湾村土地流转租金纠纷",
    "summary": "村民张某与承包大户李某因土地流转租金支付发生纠纷。",
    "category": "land_forest",
    "source": "screening",
    "risk": "general",
    "people_involved": 2,
    "amount": "12000.00",
}
PETITION = {
    "kind": "petition",
    "petition_type": "claim",
    "title": "征地补偿款发放信访",
    "summary": "信访人反映征地补偿款未足额发放。",
    "category": "land_acquisition",
    "source": "visit",
    "risk": "general",
    "people_involved": 1,
}
PARTIES = [
    {"name": "张三", "role": "applicant", "id_number": "11010519491231002X", "phone": "13800138000"},
    {"name": "李四", "role": "respondent", "id_number": "", "phone": ""},
]


def report(cast: Cast, *, actor: Any = None, at: datetime | None = None, **overrides: Any) -> Any:
    """A dispute in 东湾村 registered by alice, unless told otherwise."""
    data = {**DISPUTE, "village": cast.dongwan.pk, **overrides}
    return services.report_case(
        actor=cast.alice if actor is None else actor,
        data=data,
        parties=PARTIES,
        at=at or local(2026, 3, 2, 9, 0),
        # The cast's cases share their parties: repeats are the subject of their own tests.
        repeats_seen=True,
    )


# The steps most tests take, through the real service.

def step(case: Any, name: str, actor: Any, at: datetime | None = None, **data: Any) -> Any:
    """Operation `name` on `case` by `actor` with `data`."""
    return services.transition(case, name, actor=actor, data=data, at=at)


def accept(cast: Cast, case: Any, at: datetime | None = None) -> Any:
    """olga accepts: mia carries the case, 柳林司法所 leads it."""
    return step(case, "accept", cast.olga, at, assignee=cast.mia.pk, lead_department=cast.justice.pk)


def resolve(cast: Cast, case: Any, at: datetime | None = None, *, outcome: str = "agreement_oral",
            summary: str = "口头协议。") -> Any:
    """mia resolves with an agreement (oral unless told otherwise)."""
    return step(case, "resolve", cast.mia, at, outcome=outcome, summary=summary)


def token_for(user: Any, device: str = "tests") -> str:
    """A new API token for `user`, as the token login issues it (cases.tokens)."""
    from cases import tokens

    return tokens.issue(user, device)[1]


def tokens_for(users: list[Any]) -> dict[int, str]:
    """One new API token per user, written in one statement (the benchmarks' thousands of
    clients): user id → token."""
    from django.utils import timezone
    from knox.models import get_digest_token
    from knox.settings import CONSTANTS, knox_settings

    from cases.models import DeviceToken

    keys, rows = {}, []
    for user in users:
        digest, key = get_digest_token()
        keys[user.pk] = key
        rows.append(DeviceToken(user=user, digest=digest, token_key=key[:CONSTANTS.TOKEN_KEY_LENGTH],
                                expiry=timezone.now() + knox_settings.TOKEN_TTL, name="bench"))
    DeviceToken.objects.bulk_create(rows)
    return keys
