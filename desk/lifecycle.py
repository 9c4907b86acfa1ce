"""The lifecycle diagram on the case page, drawn from the state machine's own definition
(CaseFlow's transitions), so it cannot drift from what the engine does. An arc diagram:
the stages in a row in their declared order, each move an arc between two of them —
forward moves above the row, moves back below — labelled with the operations that make it.
Inline SVG: no script, no chart library, readable on a phone, printable."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from cases.models import Case
from workflow.flow import CaseFlow

NODE_W, NODE_H, GAP, ROW_Y = 96, 36, 40, 150


def moves() -> dict[tuple[str, str], list[str]]:
    """(from stage, to stage) → the labels of the operations that make that move."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    stages = set(Case.Stage.values)
    for transitions in CaseFlow.stage.get_transitions().values():
        for transition in transitions:
            # Operations that keep the stage (assign, note …) are not moves.
            key = (str(transition.source), str(transition.target))
            if not stages.issuperset(key):
                continue
            if str(transition.label) not in found[key]:
                found[key].append(str(transition.label))
    return dict(found)


def diagram(current: str) -> SafeString:
    return mark_safe(_drawing(get_language()).replace('data-stage="%s" class="stage"' % current,
                                                      'data-stage="%s" class="stage current"' % current))


@lru_cache(maxsize=8)
def _drawing(language: str) -> str:
    stages = list(Case.Stage.choices)
    x = {value: 10 + i * (NODE_W + GAP) for i, (value, _label) in enumerate(stages)}
    width = 20 + len(stages) * NODE_W + (len(stages) - 1) * GAP
    parts = [
        f'<svg class="lifecycle" viewBox="0 0 {width} {2 * ROW_Y + NODE_H}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="13">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#607d8b"/></marker></defs>',
    ]
    for (source, target), labels in sorted(moves().items()):
        x1, x2 = x[source] + NODE_W / 2, x[target] + NODE_W / 2
        forward = x2 > x1
        span = abs(x2 - x1) / (NODE_W + GAP)
        lift = 26 + 22 * span
        y0 = ROW_Y if forward else ROW_Y + NODE_H
        apex = y0 - lift if forward else y0 + lift
        # Start and end a little apart so arcs into one stage do not share a point.
        x1 += -8 if forward else 8
        x2 += 8 if forward else -8
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="move" data-from="{source}" data-to="{target}" d="M{x1},{y0} '
            f'Q{mid},{2 * apex - y0} {x2},{y0}" fill="none" stroke="#607d8b" marker-end="url(#arrow)"/>'
        )
        text_y = apex - 4 if forward else apex + 12
        parts.append(f'<text x="{mid}" y="{text_y}" text-anchor="middle" fill="#37474f">'
                     f'{escape("、".join(labels))}</text>')
    for value, label in stages:
        parts.append(
            f'<g data-stage="{value}" class="stage"><rect x="{x[value]}" y="{ROW_Y}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="18"/><text x="{x[value] + NODE_W / 2}" y="{ROW_Y + 23}" '
            f'text-anchor="middle">{escape(str(label))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
