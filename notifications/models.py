"""One message to one user. The row is the truth; a WebSocket push is a courtesy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Level(models.TextChoices):
        WARNING = "warning", _("Warning (yellow card)")
        OVERDUE = "overdue", _("Overdue (red card)")
        ESCALATED = "escalated", _("Escalated")
        SUPERVISION = "supervision", _("Supervision order")
        ASSIGNMENT = "assignment", _("Assignment")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    case = models.ForeignKey("cases.Case", models.CASCADE, null=True, blank=True, related_name="+")
    deadline = models.ForeignKey("workflow.Deadline", models.CASCADE, null=True, blank=True, related_name="+")
    # A village's screening return clock, for its yellow and red cards.
    return_deadline = models.ForeignKey("workflow.ReturnDeadline", models.CASCADE, null=True, blank=True,
                                        related_name="+")
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "id"], condition=models.Q(read_at__isnull=True), name="notification_unread")
        ]
        constraints = [
            # A step of the sweep reaches each recipient once, whatever runs the sweep
            # and however often: the database refuses a second row.
            models.UniqueConstraint(
                fields=["deadline", "kind", "user"],
                condition=models.Q(deadline__isnull=False),
                name="notification_once_per_step",
            ),
            models.UniqueConstraint(
                fields=["return_deadline", "kind", "user"],
                condition=models.Q(return_deadline__isnull=False),
                name="notification_once_per_return_step",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]
