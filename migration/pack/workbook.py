"""The evidence pack as a formatted workbook (openpyxl): one sheet per part of the pack."""

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .data import STAGES, Pack, step_title

SHEETS = (
    "Summary",
    "Steps",
    "Checklist",
    "Sign-offs",
    "Uploads",
    "Jobs",
    "Verification",
    "Reconciliation",
    "Triage",
    "Activity",
)
HEAD_FILL = PatternFill("solid", fgColor="0B5CAD")
HEAD_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
MAX_WIDTH = 80


def _cell_value(value):
    if isinstance(value, datetime):
        # Excel has no time zones: local time of the server, named in the summary.
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, dict | list | tuple):
        return (
            ", ".join(f"{k}={v}" for k, v in value.items())
            if isinstance(value, dict)
            else ", ".join(map(str, value))
        )
    return value


def _put(ws: Worksheet, row: int, col: int, value) -> None:
    cell = ws.cell(row=row, column=col, value=_cell_value(value))
    if isinstance(cell.value, str):
        # Text that looks like a formula stays text: users' names and messages are never evaluated.
        cell.data_type = "s"
    elif isinstance(cell.value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"


def _table(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence], start: int = 1) -> int:
    """A header row and data rows from `start`; returns the last row written."""
    for col, name in enumerate(headers, start=1):
        _put(ws, start, col, name)
        ws.cell(row=start, column=col).fill = HEAD_FILL
        ws.cell(row=start, column=col).font = HEAD_FONT
    last = start
    for last, values in enumerate(rows, start=start + 1):
        for col, value in enumerate(values, start=1):
            _put(ws, last, col, value)
    if start == 1:
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(last, 2)}"
    return last


def _widths(ws: Worksheet) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                length = 19 if isinstance(cell.value, datetime) else len(str(cell.value))
                widths[cell.column] = max(widths.get(cell.column, 0), min(length + 2, MAX_WIDTH))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(width, 8)


def _who(user) -> str:
    return user.username if user else ""


def _summary(ws: Worksheet, pack: Pack) -> None:
    m = pack.migration
    ws["A1"] = "Go-live evidence pack"
    ws["A1"].font = TITLE_FONT
    facts = [
        ("Migration", m.name),
        ("Customer", m.customer),
        ("Purpose", m.get_purpose_display() or "not set"),
        ("Copied from", m.copied_from.name if m.copied_from else ""),
        ("Legal entities", ", ".join(f"{e.code} {e.name}" for e in m.legal_entities.all())),
        ("Planned go-live", m.go_live),
        ("Finance and Operations", m.fno_url),
        ("Customer engagement", m.ce_url),
        ("Complete", f"{pack.progress.percent}% ({pack.progress.done} of {pack.progress.total} items)"),
        ("Pack created", pack.created_at),
        ("Pack created by", pack.created_by),
        ("Times in", f"{timezone.get_current_timezone_name()} (the server's time zone)"),
        ("Source", "The database as it stood when the pack was created"),
    ]
    for r, (name, value) in enumerate(facts, start=3):
        _put(ws, r, 1, name)
        ws.cell(row=r, column=1).font = Font(bold=True)
        _put(ws, r, 2, value)
    r = len(facts) + 4
    ws.cell(row=r, column=1, value="Settings (step 8)").font = Font(bold=True, size=12)
    r = _table(ws, ["Setting", "Value"], list(pack.settings.items()), start=r + 1) + 2
    ws.cell(row=r, column=1, value="Members").font = Font(bold=True, size=12)
    rows = [(ms.user.username, ms.get_role_display(), ms.added_at) for ms in pack.members]
    r = _table(ws, ["User", "Role", "Added"], rows, start=r + 1) + 2
    ws.cell(row=r, column=1, value="Row issues by code (latest step-8 jobs)").font = Font(bold=True, size=12)
    _table(ws, ["Code", "Severity", "Rows"], pack.issues, start=r + 1)


def _steps(ws: Worksheet, pack: Pack) -> None:
    signed = {s.step: s for s in pack.signoffs}
    rows = [
        (
            sp.step.number,
            sp.step.title,
            sp.state_label,
            sp.done,
            sp.total,
            sp.blocked,
            sp.overdue,
            _who(signed[sp.step.number].signed_by) if sp.step.number in signed else "",
            signed[sp.step.number].signed_at if sp.step.number in signed else None,
        )
        for sp in pack.progress.steps
    ]
    last = _table(
        ws,
        ["Step", "Title", "State", "Done", "Items", "Blocked", "Overdue", "Signed off by", "Signed off at"],
        rows,
    )
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Checklist items per step"
    chart.y_axis.title = "items"
    chart.add_data(Reference(ws, min_col=4, max_col=5, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=2, max_row=last))
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, "K2")


def _checklist(ws: Worksheet, pack: Pack) -> None:
    rows = [
        (
            i.step,
            i.title,
            i.get_kind_display(),
            "yes" if i.done else "no",
            _who(i.done_by),
            i.done_at,
            _who(i.updated_by),
            i.updated_at,
            i.blocker,
            i.due_on,
            i.details,
        )
        for i in pack.items
    ]
    headers = [
        "Step",
        "Item",
        "Kind",
        "Done",
        "Done by",
        "Done at",
        "Last changed by",
        "Last changed at",
        "Blocked by",
        "Due",
        "Details",
    ]
    _table(ws, headers, rows)


def _signoffs(ws: Worksheet, pack: Pack) -> None:
    rows = [(s.step, step_title(s.step), _who(s.signed_by), s.signed_at) for s in pack.signoffs]
    _table(ws, ["Step", "Title", "Signed off by", "Signed off at"], rows)


def _uploads(ws: Worksheet, pack: Pack) -> None:
    rows = [(f.what, f.name, f.size, f.sha256, f.at, f.by) for f in pack.files]
    _table(ws, ["What", "File", "Bytes", "SHA-256", "At", "By"], rows)


def _jobs(ws: Worksheet, pack: Pack) -> None:
    rows = []
    for j in pack.jobs:
        s = j.summary or {}
        rows.append(
            (
                j.id,
                j.table,
                j.get_state_display(),
                _who(j.created_by),
                j.created_at,
                j.started_at,
                j.finished_at,
                "; ".join(i.label for i in pack.inputs.get(j.id, [])),
                s.get("input_sha256", ""),
                s.get("rows_in"),
                s.get("rows_out"),
                s.get("errors"),
                s.get("warnings"),
                s.get("issue_counts", {}),
                s.get("counts", {}),
                j.run_settings,
                s.get("output_sha256", ""),
                j.message,
            )
        )
    headers = [
        "Job",
        "Table",
        "State",
        "Started by",
        "Created",
        "Started",
        "Finished",
        "Input",
        "Input SHA-256",
        "Rows in",
        "Rows out",
        "Errors",
        "Warnings",
        "Issues by code",
        "Cells set per column",
        "Settings",
        "Output SHA-256",
        "Message",
    ]
    _table(ws, headers, rows)


def _verification(ws: Worksheet, pack: Pack) -> None:
    headers = (
        ["Table", "Company"] + [label for _k, label in STAGES] + ["Missing", "Not expected", "Differing"]
    )
    rows = [
        (
            r.label,
            r.company,
            *(r.value(k) if r.value(k) is not None else "not recorded" for k, _ in STAGES),
            r.missing,
            r.unexpected,
            r.differing,
        )
        for r in pack.stages
    ]
    _table(ws, headers, rows)


def _reconciliation(ws: Worksheet, pack: Pack) -> None:
    rows = []
    for c in pack.reconciliations:
        files = ", ".join(c.result.get("fno", {}).get("files", []))
        for company in c.result.get("companies", []):
            rows.append(
                (
                    c.id,
                    c.table,
                    c.entity,
                    company["company"],
                    company["expected"],
                    company["arrived"],
                    company["missing"],
                    company["unexpected"],
                    company["differing"],
                    "yes" if c.ok else "no",
                    files,
                    c.finished_at,
                    _who(c.created_by),
                )
            )
    headers = [
        "Check",
        "Table",
        "F&O entity",
        "Company",
        "Expected",
        "Arrived",
        "Missing",
        "Not expected",
        "Differing",
        "All arrived as expected",
        "F&O export files",
        "Checked at",
        "Uploaded by",
    ]
    last = _table(ws, headers, rows)
    r = last + 3
    ws.cell(row=r, column=1, value="Differences (first rows of each check; the lists hold all)").font = Font(
        bold=True
    )
    diff_rows = [
        (c.id, c.table, d.get("company"), d.get("key"), d.get("column"), d.get("expected"), d.get("found"))
        for c in pack.reconciliations
        for d in c.result.get("differences", [])
    ]
    _table(ws, ["Check", "Table", "Company", "Key", "Column", "Expected", "Found"], diff_rows, start=r + 1)


def _triage(ws: Worksheet, pack: Pack) -> None:
    rows = []
    for c in pack.triages:
        titles = {x["cause"]: x for x in c.result.get("causes", [])}
        for n in c.result.get("counts", []):
            cause = titles.get(n["cause"], {})
            rows.append(
                (
                    c.id,
                    c.table,
                    n["cause"],
                    cause.get("title", ""),
                    n["company"],
                    n["errors"],
                    cause.get("what_to_do", ""),
                    cause.get("link", ""),
                )
            )
    headers = ["Check", "Table", "Cause", "Title", "Company", "Errors", "What to do", "Link"]
    _table(ws, headers, rows)


def _activity(ws: Worksheet, pack: Pack) -> None:
    rows = [(a.at, _who(a.actor), a.verb, a.step, a.description) for a in pack.activities]
    _table(ws, ["At", "Who", "What", "Step", "Description"], rows)


WRITERS = {
    "Summary": _summary,
    "Steps": _steps,
    "Checklist": _checklist,
    "Sign-offs": _signoffs,
    "Uploads": _uploads,
    "Jobs": _jobs,
    "Verification": _verification,
    "Reconciliation": _reconciliation,
    "Triage": _triage,
    "Activity": _activity,
}


def pack_workbook(pack: Pack) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name in SHEETS:
        ws = wb.create_sheet(name)
        WRITERS[name](ws, pack)
        _widths(ws)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and len(cell.value) > MAX_WIDTH:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.properties.title = f"Go-live evidence pack: {pack.migration.name}"
    wb.properties.creator = "P2C Wizard"
    wb.properties.created = timezone.localtime(pack.created_at).replace(tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
