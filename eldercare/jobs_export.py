"""The jobs page's export (issue 17.10): every run of every job in the order run, with
what it changed, then the failures; streamed like every export (eldercare.exports)."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from flask import Response

from .exports import export_response, iter_rows
from .extensions import db
from .models import JobFailure, JobRun


def jobs_export() -> Response:
    runs = (
        (
            r.job,
            r.period,
            "完成",
            r.trigger,
            r.started_at,
            r.finished_at,
            r.duration_ms,
            r.summary,
            "",
        )
        for r in iter_rows(sa.select(JobRun), JobRun.id)
    )
    failures = (
        (x.job, x.period, "失败", x.trigger, x.at, None, None, None, x.error)
        for x in db.session.scalars(sa.select(JobFailure).order_by(JobFailure.id))
    )
    return export_response(
        "jobs",
        ["任务", "周期", "结果", "触发", "开始", "结束", "耗时（毫秒）", "变更", "错误"],
        itertools.chain(runs, failures),
    )
