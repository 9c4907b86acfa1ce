"""The lifecycle diagram on the case page, drawn from the state machine's own definition
(CaseFlow's transitions), so it cannot drift from what the engine does.

An arc diagram standing upright, so that it keeps its labels readable (11 px and more)
in the width of a phone, where a row of six stages shrank them to 6 px: the stages in a
column in their declared order, each move an arc from one stage to another labelled
with the operations that make it. Moves between open stages run on the right (moves back
dashed); moves that end the case run on the left, nested, into the stage nothing leaves
(closed). An operation that ends the case from every other stage (withdraw) would be an
arc from each: it is said once, under the drawing. Inline SVG: no script, no chart
library, printable."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cases.models import Case
from cases.wording import series
from workflow.flow import REVIEW_OPERATIONS, CaseFlow, operations

# In the drawing's own units (px when drawn 1:1).
NODE_W, NODE_H, PITCH, TOP, FONT = 88, 32, 64, 8, 12


def moves() -> dict[tuple[str, str], list[str]]:
    """(from stage, to stage) → the labels of the operations that make that move."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    stages = set(Case.Stage.values)
    for transitions in CaseFlow.stage.get_transitions().values():
        for transition in transitions:
            # Operations that keep the stage (assign, note …) are not moves; a petition's
            # review is said under the drawing (REVIEW_OPERATIONS).
            key = (str(transition.source), str(transition.target))
            if not stages.issuperset(key) or transition.slug in REVIEW_OPERATIONS:
                continue
            if str(transition.label) not in found[key]:
                found[key].append(str(transition.label))
    return dict(found)


def diagram(current: str) -> SafeString:
    """The drawing with `current` marked, and the moves out of it."""
    drawing = _drawing(get_language())
    for part in ("move", "label"):
        drawing = drawing.replace(f'class="{part}" data-from="{current}"', f'class="{part} out" data-from="{current}"')
    return mark_safe(drawing.replace(f'data-stage="{current}" class="stage"', f'data-stage="{current}" class="stage current"'))


def text_width(text: str) -> float:
    """Roughly: a Chinese character is one em wide, a Latin letter six tenths of one."""
    return sum(FONT if ord(ch) >= 0x2E80 else FONT * 0.6 for ch in text)


def overlaps(box: tuple[float, float, float, float], placed: list[tuple[float, float, float, float]]) -> bool:
    # Two em-spaces apart at least: labels side by side on one line read as one.
    return any(box[0] < b[2] + FONT and b[0] < box[2] + FONT and box[1] < b[3] and b[1] < box[3] for b in placed)


@lru_cache(maxsize=8)
def _drawing(language: str) -> str:
    stages = list(Case.Stage.choices)
    names = dict(stages)
    row = {value: i for i, (value, _label) in enumerate(stages)}
    found = moves()
    sinks = {value for value, _label in stages if not any(source == value for source, _target in found)}
    # Operations leading into a sink from every other stage: said once, not drawn.
    everywhere: dict[str, str] = {}
    for sink in sinks:
        for label in {label for (_s, target), labels in found.items() if target == sink for label in labels}:
            if {source for (source, target), labels in found.items() if target == sink and label in labels} \
                    == set(row) - sinks:
                everywhere[label] = sink
    arcs = {key: [label for label in labels if label not in everywhere] for key, labels in found.items()}
    arcs = {key: labels for key, labels in arcs.items() if labels}

    def middle(value: str) -> float:
        return TOP + row[value] * PITCH + NODE_H / 2

    def lift(span: int, left: bool, back: bool) -> float:
        return (12 + 12 * (span - 1)) if left else (14 + 14 * (span - 1) + (8 if back else 0))

    # The column of stages stands where the left arcs and their labels leave room.
    node_x = 4 + max([lift(abs(row[t] - row[s]), True, False) + 4 + text_width(series(labels))
                      for (s, t), labels in arcs.items() if t in sinks] or [0])
    left_edge, right_edge = node_x, node_x + NODE_W
    paths, texts = [], []
    placed: list[tuple[float, float, float, float]] = []
    # Short arcs first: their labels take the places nearest their arcs.
    for (source, target), labels in sorted(arcs.items(), key=lambda m: (abs(row[m[0][1]] - row[m[0][0]]), m[0])):
        span, back, left = abs(row[target] - row[source]), row[target] < row[source], target in sinks
        height = lift(span, left, back)
        # Ports on the stage's edge: a longer arc leaves and enters nearer the middle, so
        # nested arcs do not cross; one going back leaves from the upper half.
        if left:
            edge, bulge = left_edge, -height
            y1, y2 = middle(source) + 8, middle(target) - 14 + 3 * (span - 1)
        elif back:
            edge, bulge = right_edge, height
            y1, y2 = middle(source) - 4, middle(target) + 4
        else:
            edge, bulge = right_edge, height
            y1, y2 = middle(source) + 12 - 2 * (span - 1), middle(target) - 12 + 2 * (span - 1)
        mid = (y1 + y2) / 2
        dashes = ' stroke-dasharray="4 3"' if back else ""
        paths.append(
            f'<path class="move" data-from="{source}" data-to="{target}" d="M{edge},{y1} Q{edge + 2 * bulge},{mid} '
            f'{edge},{y2}" fill="none" stroke="#607d8b" marker-end="url(#arrow)"{dashes}/>'
        )
        text = series(labels)
        width = text_width(text)
        x = edge + bulge + (-4 if left else 4)
        # Beside the arc's outermost point; moved a line down (then up) at a time while it
        # would overlap a label already placed.
        for shift in (0, 1, -1, 2, -2, 3, -3, 4):
            y = mid + FONT / 2 - 1 + shift * (FONT + 3)
            box = (x - width, y - FONT, x, y + 3) if left else (x, y - FONT, x + width, y + 3)
            if not overlaps(box, placed):
                break
        placed.append(box)
        texts.append(f'<text class="label" data-from="{source}" data-to="{target}" x="{x:.0f}" y="{y:.0f}" '
                     f'text-anchor="{"end" if left else "start"}" fill="#37474f">{escape(text)}</text>')
    width = max([right_edge + 8, *(b[2] + 4 for b in placed)])
    height = TOP * 2 + (len(stages) - 1) * PITCH + NODE_H
    parts = [
        f'<svg class="lifecycle" viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#607d8b"/></marker></defs>',
        *paths,
        *texts,
    ]
    for value, label in stages:
        y = TOP + row[value] * PITCH
        parts.append(
            f'<g data-stage="{value}" class="stage"><rect x="{node_x:.0f}" y="{y}" width="{NODE_W}" height="{NODE_H}" '
            f'rx="16" fill="#eceff1" stroke="#78909c"/><text x="{node_x + NODE_W / 2:.0f}" '
            f'y="{y + NODE_H / 2 + FONT / 2 - 1:.0f}" text-anchor="middle">{escape(str(label))}</text></g>'
        )
    parts.append("</svg>")
    # 复查、复核 (信访工作条例 第三十五条、第三十六条) leave even the closed stage: drawn, they
    # would cross every arc, so they are said once, as withdrawing is.
    request, decide = (str(next(iter(operations()[slug].get_transitions())).label) for slug in REVIEW_OPERATIONS)
    note = _("%(request)s (a petition's review, twice at most): from “%(resolved)s” or “%(closed)s” back to "
             "“%(investigating)s”, held by the unit above; %(decide)s resolves it again.") % {
        "request": request, "decide": decide, "resolved": names[Case.Stage.RESOLVED],
        "closed": names[Case.Stage.CLOSED], "investigating": names[Case.Stage.INVESTIGATING]}
    parts.append(f'<p class="lifecycle-note">{escape(note)}</p>')
    for label, sink in sorted(everywhere.items()):
        note = _("%(operations)s: from every other stage to “%(stage)s”.") % {"operations": label, "stage": names[sink]}
        parts.append(f'<p class="lifecycle-note">{escape(note)}</p>')
    return "".join(parts)
