"""What fonts a PDF embeds, and whether every character it draws has a real glyph in the
font it is drawn with: the test of "no missing-glyph boxes" read from the file itself.

For each font of each page (Type0 fonts, as WeasyPrint writes them, Identity-encoded: a
code is a glyph id), the ToUnicode map says which character each code draws. The
embedded font program (fontTools) must then hold that character in its own cmap, and the
glyph drawn must not be .notdef (id 0) and must have ink, unless the character is white
space. A character drawn with a font that lacks it — the box a Latin-only font leaves for
a Chinese character — fails all three.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import IndirectObject

_HEX = r"<([0-9A-Fa-f]+)>"


@dataclass
class EmbeddedFont:
    name: str  # the PDF's BaseFont, subset tag included: "LWGGBP+Noto-Serif-CJK-SC"
    family: str  # the font program's own family name (name table, id 1)
    drawn: dict[int, str] = field(default_factory=dict)  # glyph id → the text it draws
    missing: list[str] = field(default_factory=list)  # characters without a real glyph


def to_unicode(cmap: bytes) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange entries: code → text."""
    text = cmap.decode("latin-1")
    mapped: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for code, target in re.findall(rf"{_HEX}\s*{_HEX}", block):
            mapped[int(code, 16)] = bytes.fromhex(target).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, start in re.findall(rf"{_HEX}\s*{_HEX}\s*{_HEX}", block):
            first = bytes.fromhex(start).decode("utf-16-be")
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapped[code] = first[:-1] + chr(ord(first[-1]) + offset)
    return mapped


def _fonts_of(resources: Any, seen: set[int]) -> list[Any]:
    """The fonts of a resource dictionary and of the form XObjects it draws."""
    found = []
    if resources is None:
        return found
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        key = font.idnum if isinstance(font, IndirectObject) else id(font)
        if key not in seen:
            seen.add(key)
            found.append(font.get_object())
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form":
            found += _fonts_of(xobject.get("/Resources"), seen)
    return found


def embedded_fonts(pdf: bytes) -> list[EmbeddedFont]:
    reader = PdfReader(io.BytesIO(pdf))
    seen: set[int] = set()
    fonts = [font for page in reader.pages for font in _fonts_of(page.get("/Resources"), seen)]
    return [check(font) for font in fonts]


def check(font: Any) -> EmbeddedFont:
    name = str(font.get("/BaseFont", ""))
    assert font.get("/Subtype") == "/Type0", f"{name}: not a composite font ({font.get('/Subtype')})"
    descendant = font["/DescendantFonts"][0].get_object()
    assert descendant.get("/CIDToGIDMap", "/Identity") == "/Identity", f"{name}: a CID-to-glyph map"
    descriptor = descendant["/FontDescriptor"].get_object()
    program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
    assert program is not None, f"{name}: the font is not embedded"
    ttf = TTFont(io.BytesIO(program.get_object().get_data()))
    order, cmap, glyphs = ttf.getGlyphOrder(), ttf.getBestCmap() or {}, ttf.getGlyphSet()
    report = EmbeddedFont(name=name, family=ttf["name"].getDebugName(1) or "",
                          drawn=to_unicode(font["/ToUnicode"].get_object().get_data()))
    for gid, text in report.drawn.items():
        for char in text:
            if char.isspace():
                continue
            glyph = order[gid] if 0 < gid < len(order) else None
            if glyph is None or ord(char) not in cmap:
                report.missing.append(char)
                continue
            pen = BoundsPen(glyphs)
            glyphs[glyph].draw(pen)
            if pen.bounds is None:
                report.missing.append(char)
    return report


def glyph_problems(pdf: bytes) -> list[str]:
    """Every way the PDF fails to show its text: a font that is no CJK font, a character
    without a real glyph. Empty for a PDF that prints as it should."""
    problems = []
    for font in embedded_fonts(pdf):
        if "CJK" not in font.family:
            problems.append(f"{font.name}: {font.family!r} is no CJK font")
        if font.missing:
            problems.append(f"{font.name}: no glyph for {''.join(sorted(set(font.missing)))[:40]!r}")
    return problems
