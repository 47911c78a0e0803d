"""Exports of the dashboards' tables to CSV and XLSX, each one written to the audit log."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.models import User
from accounts.services import audit_record

from ..filters import Filters
from ..tables import Cell, Column, Table

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_UNITS = {"pct": " (%)", "seconds": " (s)", "money": " (€)", "price": " (€)"}


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    rows: int


def _header(column: Column) -> str:
    return f"{column.label}{_UNITS.get(column.kind, '')}"


def _csv_value(column: Column, cell: Cell):
    value = cell.value
    if value is None or value == "":
        return ""
    if column.kind == "pct":
        return round(float(value) * 100, 2)
    if column.kind in ("seconds", "money", "price", "float"):
        return round(float(value), 2)
    if column.kind == "int":
        return int(round(float(value)))
    return str(value)


def _rows(table: Table) -> list[list[Cell]]:
    return [*table.rows, *([table.footer] if table.footer else [])]


def _csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_header(c) for c in table.columns])
    for row in _rows(table):
        writer.writerow([_csv_value(c, cell) for c, cell in zip(table.columns, row, strict=True)])
    # The byte-order mark lets spreadsheet programs recognise UTF-8 (accents in French labels).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(table: Table, filters: Filters, page: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.slug[:31]
    sheet.append([_header(c) for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    formats = {
        "pct": "0.0%",
        "seconds": "#,##0",
        "money": "#,##0 €",
        "price": "#,##0.00 €",
        "float": "#,##0.0",
        "int": "#,##0",
    }
    for row in _rows(table):
        values = []
        for column, cell in zip(table.columns, row, strict=True):
            value = cell.value
            if value is None or value == "":
                values.append(None)
            elif column.numeric:
                values.append(float(value) if column.kind != "int" else int(round(float(value))))
            else:
                values.append(str(value))
        sheet.append(values)
        for column, xl in zip(table.columns, sheet[sheet.max_row], strict=True):
            if column.kind in formats:
                xl.number_format = formats[column.kind]
    about = workbook.create_sheet("filters")
    about.append(["table", table.title])
    about.append(["page", page])
    about.append(["from", filters.start.isoformat()])
    about.append(["to", filters.end.isoformat()])
    about.append(["brand", filters.brand or ""])
    about.append(["channel", filters.channel])
    about.append(["team", filters.team or ""])
    about.append(["exported", timezone.localtime().isoformat(timespec="seconds")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_export(
    *,
    table: Table,
    fmt: str,
    page: str,
    filters: Filters,
    user: User,
    request: HttpRequest | None = None,
) -> ExportFile:
    """The table as a CSV or XLSX file; records who exported what, with which filters.

    The caller has checked the "export" permission (and "view_cost" for the cost tables).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    content = _csv(table) if fmt == "csv" else _xlsx(table, filters, page)
    rows = len(_rows(table))
    audit_record(
        actor=user,
        action="reporting.export",
        object_type="reporting.table",
        object_id=f"{page}:{table.slug}",
        data={"format": fmt, "rows": rows, "filters": filters.query()},
        request=request,
    )
    stamp = f"{filters.start:%Y%m%d}-{filters.end:%Y%m%d}"
    return ExportFile(content, FORMATS[fmt], f"{page}-{table.slug}-{stamp}.{fmt}", rows)
