"""A frozen notice (通报) as files: an .xlsx workbook and a printable HTML page.

Both are made from the stored notice alone (:func:`office.notices.get_notice`), never
from the records now, so they hold exactly what was frozen however many attempts arrived
since. The page shows the same tables (:func:`notice_tables`).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import pandas as pd

from base.clock import LOCAL_TZ
from office.notices import Notice
from office.progress import KIND_LABELS
from office.reports import shown_cells, workbook_bytes

NOTICE_SHEETS = ("通报", "部门情况", "逾期名单")
"""The workbook's sheets, in order."""


def _when(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def notice_tables(notice: Notice, department: str | None = None) -> dict[str, pd.DataFrame]:
    """The notice's tables by sheet name (:data:`NOTICE_SHEETS`).

    Args:
        notice: the stored notice.
        department: only this department's rows (a head's view); None for all.

    Returns:
        ``通报``: what the notice is (指标, 数值); ``部门情况``: every department's figures
        at the notice's moment, worst on-time rate first, with 未按期完成 (是 for a unit
        named); ``逾期名单``: the people overdue with what each was missing.
    """
    departments = [
        d for d in notice.departments if department is None or d.department == department
    ]
    people = [p for p in notice.people if department is None or p.department == department]
    head = pd.DataFrame(
        [
            ("通报标题", notice.title),
            ("学习阶段", notice.phase),
            ("统计范围", "全局" if department is None else department),
            ("开始时间", _when(notice.phase_start)),
            ("截止时间", _when(notice.deadline)),
            ("统计时点", _when(notice.as_of)),
            ("生成时间", _when(notice.created_at)),
            ("生成人", notice.created_by),
            ("未按期完成的部门", sum(not d.finished_on_time for d in departments)),
            ("逾期未完成人数", len(people)),
            ("说明", "时间均为北京时间；通报生成后不再随之后的作答改变；免学人员不计入人数。"),
        ],
        columns=["指标", "数值"],
    )
    by_department = pd.DataFrame(
        {
            "部门": [d.department for d in departments],
            "应学人数": [d.headcount for d in departments],
            "按期完成": [d.completed_on_time for d in departments],
            "逾期完成": [d.completed_late for d in departments],
            "逾期未完成": [d.overdue for d in departments],
            "免学": [d.exempt for d in departments],
            "按期完成率": pd.Series([d.on_time_rate for d in departments], dtype=float),
            "未按期完成": ["" if d.finished_on_time else "是" for d in departments],
        }
    )
    overdue = pd.DataFrame(
        {
            "部门": [p.department for p in people],
            "工号": [p.employee_no for p in people],
            "姓名": [p.name for p in people],
            "未完成事项": [
                "、".join(f"{KIND_LABELS[m.kind]}《{m.title}》" for m in p.missing) for p in people
            ],
        }
    )
    return {"通报": head, "部门情况": by_department, "逾期名单": overdue}


def notice_workbook(notice: Notice, department: str | None = None) -> bytes:
    """The notice as an .xlsx workbook of :func:`notice_tables` (rates as percentages)."""
    return workbook_bytes(notice_tables(notice, department))


def notice_filename(notice: Notice, suffix: str) -> str:
    """``通报_<id>_<date of its moment>.<suffix>``, the date in Beijing time."""
    return f"通报_{notice.id}_{notice.as_of.astimezone(LOCAL_TZ).date().isoformat()}.{suffix}"


_PRINT_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "SimSun", sans-serif;
       margin: 2em; color: #000; }
h1 { font-size: 1.5em; text-align: center; }
h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; margin-top: 0.5em; }
th, td { border: 1px solid #444; padding: 0.25em 0.5em; text-align: left; }
th { background: #eee; }
td.number { text-align: right; }
p.facts { line-height: 1.8; }
@media print { body { margin: 0; } tr { page-break-inside: avoid; } }
"""


def _html_table(table: pd.DataFrame) -> str:
    shown = shown_cells(table)
    numeric = {c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])}
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    cell_open = {c: '<td class="number">' if c in numeric else "<td>" for c in shown.columns}
    body = "".join(
        "<tr>"
        + "".join(
            f"{cell_open[c]}{escape('' if v is None else str(v))}</td>"
            for c, v in zip(shown.columns, row, strict=True)
        )
        + "</tr>"
        for row in shown.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def notice_html(notice: Notice, department: str | None = None) -> str:
    """The notice as a printable HTML page (open it in a browser and print).

    Every text from the records (title, names, departments, document titles) is escaped:
    nothing in it is ever markup.
    """
    tables = notice_tables(notice, department)
    facts = "<br>".join(
        f"{escape(str(label))}：{escape(str(value))}"
        for label, value in tables["通报"].itertuples(index=False)
        if label != "通报标题"
    )
    people = (
        _html_table(tables["逾期名单"]) if len(tables["逾期名单"]) else "<p>无逾期未完成人员。</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(notice.title)}</title><style>{_PRINT_CSS}</style></head><body>"
        f'<h1>{escape(notice.title)}</h1><p class="facts">{facts}</p>'
        f"<h2>各部门完成情况</h2>{_html_table(tables['部门情况'])}"
        f"<h2>逾期未完成人员名单</h2>{people}</body></html>\n"
    )
