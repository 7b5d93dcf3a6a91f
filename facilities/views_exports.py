"""A bed's history as .xlsx or .csv (issue 17.10): every stay of the bed, newest first,
as the bed's page lists them (eldercare.exports). Its own route, linked from the page."""

from __future__ import annotations

from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import NotFound
from eldercare.exports import export_response

from . import queries, scoping
from .views import END_REASON_LABELS, STAFF, bp


@bp.get("/facilities/<int:facility_id>/beds/<int:bed_id>/history")
@role_required(*STAFF)
def bed_history_export(facility_id: int, bed_id: int):
    facility = scoping.get_facility(current_user, facility_id)
    bed = scoping.get_bed(current_user, bed_id)
    if bed.facility_id != facility.id:
        raise NotFound("未找到该床位")
    room = bed.room.code if bed.room else ""
    rows = (
        (
            facility.name,
            room,
            bed.code,
            s.person.name,
            s.start_date,
            s.end_date,
            str(END_REASON_LABELS.get(s.end_reason.value, s.end_reason.value))
            if s.end_reason
            else "",
        )
        for s in queries.bed_history(bed)
    )
    return export_response(
        f"bed-{bed.id}-history", ["机构", "房间", "床位", "姓名", "入住", "离开", "原因"], rows
    )
