"""A frozen notice (通报) exported as a workbook and as a printable page, exactly as it was
frozen: later records change nothing in it, and nothing from the records is markup."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from openpyxl import load_workbook

from office.notice_export import (
    NOTICE_SHEETS,
    notice_filename,
    notice_html,
    notice_tables,
    notice_workbook,
)
from office.notices import freeze_notice, get_notice
from quizzes.accounts import update_person
from quizzes.people import Role
from tests.data.office.office_records import (
    LAW,
    OFFICE_DEPT,
    STATION,
    at,
    complete,
    office_plan,
)

EVERYTHING = "测验《实施方案测验》、测验《道德规范测验》、文件《创建市级文明单位实施方案》、文件《公民基本道德规范》"
QUIZZES_ONLY = "测验《实施方案测验》、测验《道德规范测验》"
HOSTILE = "<script>alert('x')</script>&amp;"


def frozen(bureau, bank):
    # A name that would be markup if it were not escaped, stored in the notice as it stood.
    update_person(bureau, "O3", HOSTILE, OFFICE_DEPT, Role.STAFF, at(3))
    notice = freeze_notice(
        bureau, "关于全面学习未按期完成情况的通报", at(22), office_plan(), bank, at(22, 10), "A1"
    )
    # After the freeze O3 completes everything and M2 is renamed: the notice stays.
    complete(bureau, bank, "O3", at(23))
    update_person(bureau, "M2", "赵敏（已改名）", STATION, Role.STAFF, at(23))
    return get_notice(bureau, notice.id)


def sheet_rows(book, name: str) -> list[tuple]:
    return list(book[name].iter_rows(values_only=True))


def test_the_workbook_holds_the_notice_as_frozen(bureau, bank):
    notice = frozen(bureau, bank)
    book = load_workbook(io.BytesIO(notice_workbook(notice)))
    assert book.sheetnames == list(NOTICE_SHEETS)
    assert sheet_rows(book, "逾期名单") == [
        ("部门", "工号", "姓名", "未完成事项"),
        (OFFICE_DEPT, "O3", HOSTILE, EVERYTHING),
        (LAW, "F2", "徐涛", EVERYTHING),
        (STATION, "M1", "杨磊", QUIZZES_ONLY),
        (STATION, "M2", "赵敏", EVERYTHING),
    ]
    # The frozen rows, one for one (the workbook is made from the notice, not the records).
    assert [(p.department, p.employee_no, p.name) for p in notice.people] == [
        row[:3] for row in sheet_rows(book, "逾期名单")[1:]
    ]
    departments = sheet_rows(book, "部门情况")
    assert departments[0] == (
        "部门",
        "应学人数",
        "按期完成",
        "逾期完成",
        "逾期未完成",
        "免学",
        "按期完成率",
        "未按期完成",
    )
    assert departments[1:] == [
        (
            d.department,
            d.headcount,
            d.completed_on_time,
            d.completed_late,
            d.overdue,
            d.exempt,
            d.on_time_rate,
            "" if d.finished_on_time else "是",
        )
        for d in notice.departments
    ]
    assert [row[0] for row in departments[1:]] == [LAW, OFFICE_DEPT, STATION]
    rate = book["部门情况"]["G3"]
    assert (rate.value, rate.number_format) == (2 / 4, "0.0%")  # 办公室: 2 of 4 on time
    head = dict(sheet_rows(book, "通报")[1:])
    assert {k: head[k] for k in ("通报标题", "统计时点", "截止时间", "逾期未完成人数")} == {
        "通报标题": "关于全面学习未按期完成情况的通报",
        "统计时点": "2026-11-22 09:00:00",
        "截止时间": "2026-11-20 23:59:59",
        "逾期未完成人数": 4,
    }
    assert notice_filename(notice, "xlsx") == f"通报_{notice.id}_2026-11-22.xlsx"


def test_a_heads_export_holds_their_department_only(bureau, bank):
    notice = frozen(bureau, bank)
    tables = notice_tables(notice, STATION)
    assert list(tables["逾期名单"]["工号"]) == ["M1", "M2"]
    assert list(tables["部门情况"]["部门"]) == [STATION]
    book = load_workbook(io.BytesIO(notice_workbook(notice, STATION)))
    assert [r[1] for r in sheet_rows(book, "逾期名单")[1:]] == ["M1", "M2"]


class _Text(HTMLParser):
    """The text and the element names of a page, as a browser parses it."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_printable_page_is_the_notice_with_everything_escaped(bureau, bank):
    notice = frozen(bureau, bank)
    page = notice_html(notice)
    parsed = _Text()
    parsed.feed(page)
    # No element came from the records: only the page's own.
    assert set(parsed.tags) == {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "p",
        "br",
        "h2",
        "table",
        "thead",
        "tr",
        "th",
        "tbody",
        "td",
    }
    cells = [t for t in parsed.text if t.strip()]
    assert HOSTILE in cells  # shown as the characters stored
    for person in notice.people:
        assert person.employee_no in cells
    assert "赵敏（已改名）" not in page
    assert "50.0%" in cells  # 办公室's on-time rate, as a percentage
    assert page.count("<tr>") == 1 + len(notice.departments) + 1 + len(notice.people)
