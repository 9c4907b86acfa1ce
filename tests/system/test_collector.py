"""The server processes run with the garbage collector's thresholds of config.collector,
which keep a large page from setting off hundreds of collections (docs/deploy.md)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.collector import THRESHOLDS


@pytest.mark.parametrize("entry", ["config.asgi", "config.wsgi"])
def test_a_server_process_runs_with_the_tuned_collector(entry: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", f"import gc; before = gc.get_threshold(); import {entry}; print((before, gc.get_threshold()))"],
        cwd=settings.BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout.strip().splitlines()[-1]
    before, after = ast.literal_eval(shown)
    assert before != THRESHOLDS and after == THRESHOLDS
