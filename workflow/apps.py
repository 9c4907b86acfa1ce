from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow and deadlines")

    def ready(self) -> None:
        from cases.models import Membership

        from .permissions import forget_memberships

        # A membership written within a request (the admin, an import) is seen by the
        # rest of that request's questions (permissions.one_reading).
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: forget_memberships(), sender=Membership, weak=False,
                           dispatch_uid=f"forget_memberships_{signal is post_save}")
