"""Validation and masking of parties' personal information (ID numbers, phones), and the
facts an ID number carries (id_facts)."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# GB 11643-1999: weights of the first 17 digits, and the check character for sum % 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
# A lone surrogate, or the replacement character a broken one's bytes become.
_UNREADABLE_RE = re.compile("[\ud800-\udfff\ufffd]")


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> None:
    """A mainland resident ID number: 18 characters, a real birth date, and the check
    character of GB 11643-1999."""
    value = value.upper()
    if not _ID_RE.match(value):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."), code="id_format")
    try:
        born = _birth_date(value)
    except ValueError:
        born = None
    # A birth date still to come does not exist either: nobody holds that number yet.
    if born is None or born > timezone.localdate():
        raise ValidationError(_("The birth date inside this ID number does not exist."), code="id_birth")
    if id_check_char(value[:17]) != value[17]:
        raise ValidationError(_("The check digit of this ID number is wrong."), code="id_checksum")


def _birth_date(value: str) -> date:
    """Characters 7–14 of an 18-character number: YYYYMMDD (GB 11643-1999)."""
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def id_facts(id_number: str) -> tuple[date, str]:
    """The birth date and the sex a mainland resident ID number carries (GB 11643-1999):
    characters 7–14 are the birth date, and the 17th, the last of the sequence code, is
    odd for a man and even for a woman. The sex is given as cases.models.Sex's value
    ("male", "female"; this module sits below the models). Raises ValidationError, as
    validate_id_number does, for a number that is not valid."""
    value = id_number.upper()
    validate_id_number(value)
    return _birth_date(value), "male" if int(value[16]) % 2 else "female"


def validate_phone(value: str) -> None:
    """A mobile number (11 digits starting 13–19) or a landline with its area code."""
    if not _PHONE_RE.match(value):
        raise ValidationError(
            _("Enter an 11-digit mobile number or a landline with its area code."), code="phone_format"
        )


def validate_readable_text(value: str) -> None:
    """Text as a person typed it, the same at every door: no half of a character. A lone
    surrogate reaches the API as "\\ud800" in JSON, and no database or audit hash can
    encode it; from a page its bytes arrive as U+FFFD (Django decodes forms with
    errors="replace"), which would store the loss silently. Characters beyond the Basic
    Multilingual Plane (emoji, the rarer characters of names such as 𠀀) are text."""
    if _UNREADABLE_RE.search(value):
        raise ValidationError(_("This text has characters that could not be read; type it again."),
                              code="unreadable")


def mask_id_number(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) >= 11 else "*" * len(value)
