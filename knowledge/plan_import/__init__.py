"""`qcbot plan import`: a county's own 任务分解表 (.xlsx, .docx, .csv) → a plan file and a review report."""

from __future__ import annotations

from knowledge.plan_import.errors import TableError
from knowledge.plan_import.importer import ImportedRow, PlanImport, default_plan_id, import_table
from knowledge.plan_import.plan_file import plan_yaml, render_report, report

__all__ = [
    "ImportedRow",
    "PlanImport",
    "TableError",
    "default_plan_id",
    "import_table",
    "plan_yaml",
    "render_report",
    "report",
]
