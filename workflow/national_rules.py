"""The national default deadline rules (docs/workflow.md: Deadlines) and one provincial profile, as the
data the rule tables start from. Administrators edit the rows afterwards; this module is
read by the data migration and by nothing at run time."""

from __future__ import annotations

from typing import Any

CAL, WORK, HOURS = "calendar", "working", "hours"

# (kind, case_kind, category, risk, duration, unit, warning_lead, escalation_grace,
#  extension_cap, legal_basis)
# A rule is chosen by case kind, category and risk, never by the level of the unit that
# holds the case: a village committee's own dispute (小事不出村, docs/workflow.md) runs on
# the same clocks as a township's, from the profile the village inherits.
NATIONAL: list[tuple[Any, ...]] = [
    ("registration", "petition", "", "", 15, CAL, 3, 1, 0, "信访工作条例 第二十二条、第二十三条"),
    ("objection", "petition", "", "", 5, WORK, 1, 1, 0, "信访工作条例 第二十三条"),
    ("handling", "petition", "", "", 60, CAL, 10, 3, 30, "信访工作条例 第三十四条"),
    ("review", "petition", "", "", 30, CAL, 5, 1, 0, "信访工作条例 第三十五条、第三十六条"),
    ("acceptance", "dispute", "", "", 3, WORK, 1, 1, 0, "地方工作规范（可配置）"),
    ("investigation", "dispute", "", "", 7, CAL, 2, 1, 7, "地方工作规范（可配置）"),
    ("mediation", "", "", "", 30, CAL, 5, 3, 15, "人民调解工作若干规定 第三十三条"),
    ("mediation", "", "medical", "", 30, WORK, 5, 3, 0, "医疗纠纷预防和处理条例 第三十八条（鉴定时间不计入）"),
    ("mediation", "", "labour", "", 15, CAL, 3, 1, 0, "劳动争议调解仲裁法 第十四条"),
    ("judicial_confirmation", "", "", "", 30, CAL, 5, 0, 0, "人民调解法 第三十三条"),
    ("follow_up", "", "", "", 15, CAL, 3, 3, 0, "地方工作规范（可配置）"),
    ("major_report", "", "", "major", 2, HOURS, 1, 1, 0, "地方工作规范（可配置）"),
    ("take_over", "", "", "", 3, WORK, 1, 1, 0, "地方工作规范（可配置）"),
    # The default answer time of a supervision order; the supervisor may set another.
    ("supervision", "", "", "", 5, WORK, 1, 1, 0, "督办工作规范（可配置）"),
    # A village's return for a month is due this many days after the month's last day:
    # the 25th of the month after (docs/workflow.md: Deadlines). A due day on a rest day moves to the next
    # working day like any calendar-day term.
    ("screening_return", "", "", "", 25, CAL, 3, 0, 0, "排查工作规范（可配置）：次月25日前报送"),
    # A township's 矛盾纠纷排查情况表 for a month is due upward this many days after the
    # month's last day: the 5th of the month after, a local rule (docs/reporting.md), swept
    # like a return (workflow.report_clocks): yellow card two days before, red card after.
    ("monthly_report", "", "", "", 5, CAL, 2, 0, 0, "排查工作规范（可配置）：次月5日前报送情况表"),
]

# Provinces differ: 浙江 5 工作日 to accept a petition, 30 日 to finish it,
# extension up to 60 日.
ZHEJIANG: list[tuple[Any, ...]] = [
    ("registration", "petition", "", "", 5, WORK, 1, 1, 0, "浙江省信访工作规定"),
    ("handling", "petition", "", "", 30, CAL, 5, 3, 60, "浙江省信访工作规定"),
]

FIELDS = (
    "kind", "case_kind", "category", "risk", "duration", "unit",
    "warning_lead", "escalation_grace", "extension_cap", "legal_basis",
)


def seed_rules(profile_model: Any, rule_model: Any) -> None:
    national, _ = profile_model.objects.get_or_create(code="national", defaults={"name": "全国默认"})
    zhejiang, _ = profile_model.objects.get_or_create(
        code="zhejiang", defaults={"name": "浙江", "parent": national}
    )
    for profile, rows in ((national, NATIONAL), (zhejiang, ZHEJIANG)):
        for row in rows:
            values = dict(zip(FIELDS, row, strict=True))
            key = {k: values.pop(k) for k in ("kind", "case_kind", "category", "risk")}
            rule_model.objects.update_or_create(profile=profile, **key, defaults=values)


def seed_rule(profile_model: Any, rule_model: Any, kind: str) -> None:
    """The national rule of `kind` alone, when it is not there yet: a later migration
    adding a kind leaves every rule an administrator edited as it is."""
    national, _ = profile_model.objects.get_or_create(code="national", defaults={"name": "全国默认"})
    for row in NATIONAL:
        values = dict(zip(FIELDS, row, strict=True))
        if values["kind"] != kind:
            continue
        key = {k: values.pop(k) for k in ("kind", "case_kind", "category", "risk")}
        rule_model.objects.get_or_create(profile=national, **key, defaults=values)


# The default assessment (考核) of villages and townships, 百分制. (indicator, method,
# weight, points off per case). Rates earn weight × rate; deductions take points off per
# case down to zero; a veto (一票否决) zeroes the whole score.
ASSESSMENT: list[tuple[str, str, int, float]] = [
    ("acceptance_on_time", "rate", 15, 0),
    ("completion_on_time", "rate", 20, 0),
    ("resolution", "rate", 25, 0),
    ("satisfaction", "rate", 15, 0),
    ("repeat_petitions", "deduction", 10, 2),
    ("late_returns", "deduction", 5, 1),
    ("missing_returns", "deduction", 5, 2.5),
    ("concealed", "deduction", 5, 5),
    ("major_concealed", "veto", 0, 0),
    ("major_group_incident", "veto", 0, 0),
]


def seed_assessment(scheme_model: Any, item_model: Any) -> None:
    scheme, created = scheme_model.objects.get_or_create(
        code="default", defaults={"name": "综治考核（百分制）", "scale": 100, "warned_places": 1, "is_default": True}
    )
    if not created:
        return  # an administrator's edits stay as they are
    for indicator, method, weight, per_case in ASSESSMENT:
        item_model.objects.create(scheme=scheme, indicator=indicator, method=method, weight=weight, per_case=per_case)
