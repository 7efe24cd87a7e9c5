"""The evidence pack's pictures as server-rendered SVG.

No script, no CDN and no style attribute (the content security policy forbids inline styles):
shapes carry classes that static/css/charts.css colours, and sizes are plain SVG attributes.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .data import STAGES, Pack, StageRow

WIDTH = 720
LABEL = 230  # room for the labels left of the bars
BAR_AREA = WIDTH - LABEL - 70  # and for the figures right of them
STEP_BAR = BAR_AREA - 150  # the step chart's notes ("10/16 · In progress · signed off") are longer


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    t = escape(title)
    return mark_safe(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{t}"><title>{t}</title>'
        + "".join(body)
        + "</svg>"
    )


def _bar(y: int, value: int | None, top: int, css: str, height: int = 14, what: str = "") -> list[str]:
    if value is None:
        note = f"{what}: not recorded" if what else "not recorded"
        return [f'<text class="figure muted" x="{LABEL}" y="{y + height - 3}">{escape(note)}</text>']
    width = round(BAR_AREA * value / top) if top else 0
    width = max(width, 1 if value else 0)  # a small figure still shows
    return [
        f'<rect class="bar {css}" x="{LABEL}" y="{y}" width="{width}" height="{height}"/>',
        f'<text class="figure" x="{LABEL + width + 6}" y="{y + height - 3}">{value:,}</text>',
    ]


def _label(y: int, text: str, css: str = "label") -> str:
    return f'<text class="{css}" x="{LABEL - 8}" y="{y}" text-anchor="end">{escape(text)}</text>'


def steps_chart(pack: Pack) -> SafeString:
    """Per step: items done of all, coloured by the step's state."""
    body, y = [], 10
    for sp in pack.progress.steps:
        body.append(_label(y + 12, sp.step.label[:34]))
        body.append(f'<rect class="track" x="{LABEL}" y="{y}" width="{STEP_BAR}" height="16"/>')
        share = round(STEP_BAR * sp.done / sp.total) if sp.total else 0
        body.append(f'<rect class="bar state-{sp.state}" x="{LABEL}" y="{y}" width="{share}" height="16"/>')
        note = f"{sp.done}/{sp.total} · {sp.state_label}" + (" · signed off" if sp.signed_off else "")
        body.append(f'<text class="figure" x="{LABEL + STEP_BAR + 6}" y="{y + 12}">{escape(note)}</text>')
        y += 24
    return _svg(y + 6, "Progress per step: checklist items done of all", body)


def _legend(y: int) -> list[str]:
    """The stages in rows of three, in the order of the bars."""
    body = []
    for i, (_key, label) in enumerate(STAGES):
        x, row = 10 + (i % 3) * 230, y + (i // 3) * 18
        body.append(f'<rect class="bar stage-{i}" x="{x}" y="{row}" width="12" height="12"/>')
        body.append(f'<text class="legend" x="{x + 16}" y="{row + 10}">{escape(label)}</text>')
    return body


def stages_chart(rows: list[StageRow]) -> SafeString:
    """Rows per table and company through the stages, exported to synced."""
    body, y = _legend(6), 50
    if not rows:
        body.append(f'<text class="label" x="10" y="{y + 12}">No step-8 job has finished yet.</text>')
        return _svg(y + 24, "Rows per table and company through the stages", body)
    for row in rows:
        body.append(_label(y + 12, row.label, "label strong"))
        body.append(_label(y + 28, row.company))
        top = max((row.value(k) or 0) for k, _ in STAGES) or 1
        for i, (key, label) in enumerate(STAGES):
            body += _bar(y + 2 + i * 15, row.value(key), top, f"stage-{i}", 12, label)
        y += len(STAGES) * 15 + 14
    return _svg(y, "Rows per table and company through the stages", body)


def issues_chart(issues: list[tuple[str, str, int]]) -> SafeString:
    """Row issues of the latest step-8 jobs by code."""
    body, y = [], 8
    if not issues:
        body.append(f'<text class="label" x="10" y="{y + 12}">No row issues in the latest jobs.</text>')
        return _svg(y + 24, "Row issues by code", body)
    top = max(n for _c, _s, n in issues)
    for code, severity, n in issues:
        body.append(_label(y + 12, code))
        body += _bar(y, n, top, f"sev-{severity}", 16)
        y += 22
    return _svg(y + 6, "Row issues by code (latest step-8 jobs)", body)
