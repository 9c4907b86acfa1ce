"""The records of screening that are no case: household visits (走访)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Category, OrgUnit
from cases.validators import mask_id_number, validate_id_number


class Visit(models.Model):
    """An official's visit to a household of a village (走访: staff going out, not 来访,
    people coming in) and what was found there. A visit is not a case and has no audit
    chain: who recorded it and when stay on the row, which is never edited. A visit that
    finds a dispute raises a case (`case`), registered as any other, found in screening."""

    village = models.ForeignKey(OrgUnit, models.PROTECT, related_name="visits", verbose_name=_("village"))
    # The person visited, for their household: a name, and the ID number when it is known,
    # held to the rules of parties' numbers (cases.validators) and shown masked.
    household = models.CharField(_("person visited"), max_length=64)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True, validators=[validate_id_number])
    visited_at = models.DateTimeField(_("time of the visit"))
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                   verbose_name=_("visited by"))
    companions = models.CharField(_("companions"), max_length=200, blank=True)
    findings = models.TextField(_("what was found"))
    concern = models.CharField(_("kind of concern found"), max_length=32, choices=Category.choices, blank=True)
    case = models.ForeignKey(Case, models.PROTECT, null=True, blank=True, related_name="visits",
                             verbose_name=_("case raised"))
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_at", "-pk"]
        # A village's visits of a month, newest first: the page, the counts by village.
        indexes = [models.Index(fields=["village", "visited_at"], name="visit_village_visited_at")]

    def __str__(self) -> str:
        return f"{self.village} {self.household}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)
