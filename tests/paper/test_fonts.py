"""The forms print in Chinese on any machine: the fonts are embedded, they are CJK fonts,
and every character drawn has a real glyph in the font it is drawn with (tests/paper/
glyphs.py reads this from the PDF itself). The check can fail: the same form laid out
where only a Latin font is installed fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from paper import render
from paper.catalogue import print_list
from paper.dossier import render_dossier, render_form

from .conftest import answered_petition, rejected_petition, visited
from .glyphs import embedded_fonts, glyph_problems

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LATIN_ONLY = "/usr/share/fonts/truetype/dejavu"


def test_every_form_embeds_cjk_fonts_with_a_glyph_for_every_character(cast: Any, media: Any) -> None:
    cases = [visited(cast), answered_petition(cast), rejected_petition(cast)]
    seen = set()
    for case in cases:
        for slug, _label in print_list(case):
            pdf = render_form(case, slug)
            assert pdf is not None
            assert glyph_problems(pdf) == [], (case.number, slug)
            seen.add(slug)
        dossier = render_dossier(case)
        assert glyph_problems(dossier) == [], case.number
        families = {font.family for font in embedded_fonts(dossier)}
        # The serif of the forms and the sans of their small print, both embedded.
        assert {"Noto Serif CJK SC", "Noto Sans CJK SC"} <= families
    assert seen >= {"cover", "application", "registration", "investigation", "mediation-record", "agreement",
                    "follow-up", "closing-report", "acceptance-notice", "opinion", "rejection-notice"}


def lay_out_elsewhere(html: str, tmp_path: Path, fonts_dir: str | None) -> bytes:
    """`html` laid out by paper.render in a process of its own, seeing only the fonts of
    `fonts_dir` (fontconfig reads its configuration once per process), or the machine's."""
    source, target = tmp_path / "form.html", tmp_path / f"form-{bool(fonts_dir)}.pdf"
    source.write_text(html, encoding="utf-8")
    env = dict(os.environ)
    if fonts_dir:
        config = tmp_path / "fonts.conf"
        config.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts_dir}</dir><cachedir>{tmp_path / "fc-cache"}</cachedir></fontconfig>""")
        env["FONTCONFIG_FILE"] = str(config)
    code = ("import sys; from paper.render import html_to_document; "
            "html = open(sys.argv[1], encoding='utf-8').read(); "
            "open(sys.argv[2], 'wb').write(html_to_document(html).write_pdf())")
    done = subprocess.run([sys.executable, "-c", code, str(source), str(target)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return target.read_bytes()


def test_the_check_fails_where_only_a_latin_font_is_installed(cast: Any, media: Any, tmp_path: Path,
                                                             monkeypatch: Any) -> None:
    laid_out = []
    real = render.html_to_document
    monkeypatch.setattr(render, "html_to_document", lambda html: laid_out.append(html) or real(html))
    render_form(visited(cast), "agreement")
    html = laid_out[0]
    # Laid out in another process with the machine's fonts, it passes …
    assert glyph_problems(lay_out_elsewhere(html, tmp_path, None)) == []
    # … and with DejaVu alone, the same text has no CJK font and no glyphs for its Chinese.
    latin = lay_out_elsewhere(html, tmp_path, LATIN_ONLY)
    problems = glyph_problems(latin)
    assert any("is no CJK font" in p for p in problems), problems
    assert any("no glyph for" in p and "协" in p for p in problems), problems
