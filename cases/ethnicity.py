"""The ethnic groups (民族) a party may belong to: the names of GB/T 3304-1991 《中国各民族名称
的罗马字母拼写法和代码》, in the standard's order (codes 01–56), followed by its two entries
for people of no group listed: 97 其他 and 98 外国血统中国籍人士.

A party's ethnicity is stored as the name itself, not the code: it is a proper name, and
the printed forms (人民调解申请书, 调解协议书 …) print it as it is. This list is the one
rule every door validates against (cases.forms.PartyForm) and offers as its choices.
"""

from __future__ import annotations

ETHNICITIES: tuple[str, ...] = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
    "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族",
    "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
    "其他", "外国血统中国籍人士",
)

# (value, label) pairs for choice fields: the name is both.
CHOICES: list[tuple[str, str]] = [(name, name) for name in ETHNICITIES]


def by_name(text: str) -> str | None:
    """The listed name `text` stands for, as ledgers and people write it: the full name
    ("蒙古族"), or the group's name without 族 ("蒙古"); None when it names no group."""
    text = text.strip()
    if text in ETHNICITIES:
        return text
    return text + "族" if text + "族" in ETHNICITIES else None
