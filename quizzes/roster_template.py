"""The roster template the office downloads: a title row, the header, one example row,
and a sheet that explains each column."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Alignment, Font

from quizzes.export_cells import text_cells
from quizzes.roster import COLUMNS

TITLE = "职工名册（第 3 行为示例，导入前请改为本单位人员或删除）"
EXAMPLE = {
    "工号": "0101",
    "姓名": "张三",
    "部门": "办公室",
    "职务": "科员",
    "角色": "职工",
    "初始密码": "",
}


def roster_template_xlsx() -> bytes:
    """The template as .xlsx bytes: sheet 名册 (title row, header row with the preferred
    column names, an example row; 工号 formatted as text so leading zeros stay) and sheet
    说明 (each column's accepted names and what goes in it)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "名册"
    sheet.append([TITLE])
    sheet.append([column.names[0] for column in COLUMNS])
    sheet.append([EXAMPLE[column.label] for column in COLUMNS])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.column_dimensions[letter].width = 14
        if column.field == "employee_no":
            # Text, so that 0101 is not stored as the number 101.
            for row in range(3, 501):
                sheet.cell(row=row, column=index).number_format = "@"

    notes = workbook.create_sheet("说明")
    notes.append(["列", "是否必填", "也可写作", "填写说明"])
    for column in COLUMNS:
        notes.append(
            [
                column.names[0],
                "必填" if column.required else "可选",
                "、".join(column.names[1:]),
                column.note,
            ]
        )
    notes.append([])
    notes.append(["表头上方可以有标题行；表头须在前 10 行内。其他列（序号、备注等）不读取。"])
    for letter, width in zip("ABCD", (10, 10, 36, 70), strict=True):
        notes.column_dimensions[letter].width = width
    text_cells(sheet)
    text_cells(notes)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
