"""Strings of viewflow's templates that our pages show. viewflow ships an empty zh_Hans
catalogue; naming them here puts them in ours, which makemessages builds from our code."""

from django.utils.translation import gettext_noop

VIEWFLOW_STRINGS = [gettext_noop("Log out"), gettext_noop("Back"), gettext_noop("Login"), gettext_noop("Profile")]
