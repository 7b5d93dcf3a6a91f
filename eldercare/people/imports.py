"""Roster import (placeholder until the importer lands: refuses every file)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "errors": self.errors, "warnings": self.warnings}


def import_roster(content: bytes, filename: str, *, dry_run: bool = False,
                  progress=None) -> ImportReport:
    report = ImportReport()
    report.errors.append({"row": 0, "column": None, "message": "导入功能尚未完成"})
    return report
