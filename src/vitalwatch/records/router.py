"""The session record (nurse or admin): record profiles, pre-dose checklist,
infusion stop, observations, discharge readiness and sign-off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse, Response

from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import AppContext, Ctx
from vitalwatch.db import DbSession
from vitalwatch.ids import PathId
from vitalwatch.overview.deps import Parts
from vitalwatch.records import (
    checklist,
    clinic,
    discharge,
    doses,
    observations,
    profiles,
    readiness,
    rems,
    report,
    report_html,
    series,
)
from vitalwatch.records.schemas import (
    ChecklistAnswer,
    ChecklistOut,
    ClinicIn,
    ClinicOut,
    FormDue,
    InfusionStop,
    ObservationField,
    ObservationIn,
    ObservationOut,
    ObservationSeries,
    ReadinessOut,
    RecordProfileIn,
    RecordProfileOut,
    RemsAnswers,
    RemsFormOut,
    SeriesOut,
    SignOffIn,
)
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.schemas import EventOut
from vitalwatch.vitals import Protocol

router = APIRouter(tags=["records"])
SESSION = "/api/v1/sessions/{session_id}"
_E: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session or item"},
    409: {"description": "The session has ended, or the record does not allow it"},
}


async def _report(
    db: DbSession, ctx: AppContext, session_id: int, *, charts: bool = True
) -> report.Report:
    """The session's report as every record view reads it (clinic zone and name)."""
    s = ctx.settings
    return await report.build(
        db, ctx.latest, s.tz, session_id, clinic_name=s.clinic_name, charts=charts
    )


@router.get("/api/v1/record-profiles", response_model=list[RecordProfileOut])
async def list_profiles(db: DbSession, claims: Staff) -> list[RecordProfileOut]:
    """Each protocol's checklist, observation interval and discharge margins in force."""
    return await profiles.all_current(db)


@router.get("/api/v1/record-profiles/{protocol}", response_model=RecordProfileOut)
async def get_profile(protocol: Protocol, db: DbSession, claims: Staff) -> RecordProfileOut:
    return await profiles.current(db, protocol)


@router.put("/api/v1/record-profiles/{protocol}", response_model=RecordProfileOut)
async def put_profile(
    protocol: Protocol, body: RecordProfileIn, db: DbSession, claims: Admin
) -> RecordProfileOut:
    """A new version for sessions started from now on (audited with old and new)."""
    return await profiles.save(db, protocol, body, actor_of(claims))


@router.get("/api/v1/clinic", response_model=ClinicOut)
async def get_clinic(db: DbSession, ctx: Ctx, claims: Staff) -> ClinicOut:
    """The healthcare setting the records name (REMS form, report), and its time zone."""
    return await clinic.get(db, ctx.settings.tz)


@router.put("/api/v1/clinic", response_model=ClinicOut)
async def put_clinic(body: ClinicIn, db: DbSession, ctx: Ctx, claims: Admin) -> ClinicOut:
    """Replace the clinic's profile (audited with old and new); the time zone is
    the service's setting VITALWATCH_CLINIC_TIMEZONE."""
    return await clinic.save(db, body, actor_of(claims), ctx.settings.tz)


@router.get(f"{SESSION}/checklist", response_model=ChecklistOut, responses=_E)
async def get_checklist(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> ChecklistOut:
    return await checklist.get(db, session_id, ctx.settings.tz)


@router.put(f"{SESSION}/checklist/{{key}}", response_model=ChecklistOut, responses=_E)
async def answer_checklist(
    session_id: PathId, key: str, body: ChecklistAnswer, db: DbSession, ctx: Ctx, claims: Staff
) -> ChecklistOut:
    """Answer one item (audited with who and when); the BP gate takes a decision."""
    return await checklist.answer(db, session_id, key, body, actor_of(claims), ctx.settings.tz)


@router.post(f"{SESSION}/doses/{{event_id}}/stop", response_model=EventOut, responses=_E)
async def stop_infusion(
    session_id: PathId,
    event_id: PathId,
    db: DbSession,
    ctx: Ctx,
    claims: Staff,
    body: InfusionStop | None = None,
) -> EventOut:
    """The IV infusion of a dose stopped (observation time counts from here)."""
    return await doses.stop_infusion(
        db,
        ctx.settings.max_future_skew_s,
        session_id,
        event_id,
        body or InfusionStop(),
        actor_of(claims),
    )


@router.post(
    f"{SESSION}/observations",
    status_code=status.HTTP_201_CREATED,
    response_model=ObservationOut,
    responses=_E,
)
async def add_observation(
    session_id: PathId, body: ObservationIn, db: DbSession, parts: Parts, claims: Staff
) -> ObservationOut:
    """MOAA/S 2 or below raises the high "sedation" alarm."""
    return await observations.add(db, parts, session_id, body, actor_of(claims))


@router.get(f"{SESSION}/observations", response_model=list[ObservationOut], responses=_E)
async def list_observations(
    session_id: PathId, db: DbSession, claims: Staff
) -> list[ObservationOut]:
    return await observations.list_(db, session_id)


@router.get(f"{SESSION}/observations/series", response_model=ObservationSeries, responses=_E)
async def observation_series(
    session_id: PathId, field: ObservationField, db: DbSession, claims: Staff
) -> ObservationSeries:
    return await observations.series(db, session_id, field)


@router.get(f"{SESSION}/readiness", response_model=ReadinessOut, responses=_E)
async def get_readiness(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> ReadinessOut:
    session = await sessions_repo.get(db, session_id)
    if session is None:
        raise SessionNotFound(session_id)
    await ctx.latest.ensure_loaded(db, {session_id})
    return (await readiness.compute(db, ctx.latest, ctx.settings.tz, [session]))[session_id]


@router.post(f"{SESSION}/discharge", response_model=ReadinessOut, responses=_E)
async def sign_off(
    session_id: PathId, body: SignOffIn, db: DbSession, parts: Parts, claims: Staff
) -> ReadinessOut:
    """The nurse's sign-off; while not ready it needs an override reason."""
    return await discharge.sign_off(db, parts, session_id, body, actor_of(claims))


@router.get(f"{SESSION}/report", response_class=HTMLResponse, responses=_E)
async def report_page(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> HTMLResponse:
    """The session report as an HTML fragment built for printing (the page
    /sessions/{id}/report shows it)."""
    built = await _report(db, ctx, session_id)
    return HTMLResponse(report_html.render(built), headers={"Cache-Control": "no-store"})


@router.get(
    f"{SESSION}/report.pdf",
    response_class=Response,
    responses={**_E, 200: {"content": {"application/pdf": {}}}},
)
async def report_file(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> Response:
    """The same report as a PDF (vector charts)."""
    # imported on first use: fpdf2 and fontTools are the slowest imports of the
    # service, and a restarting service should be back on the alarm path sooner
    from vitalwatch.records import report_pdf

    built = await _report(db, ctx, session_id)
    return Response(
        report_pdf.render(built),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="session-{session_id}-report.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get(f"{SESSION}/rems-form", response_model=RemsFormOut, responses=_E)
async def get_rems_form(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> RemsFormOut:
    """The REMS Patient Monitoring Form in the form's order, pre-filled, gaps marked."""
    built = await _report(db, ctx, session_id, charts=False)
    return await rems.get(db, built)


@router.get(
    f"{SESSION}/rems-form.pdf",
    response_class=Response,
    responses={**_E, 200: {"content": {"application/pdf": {}}}},
)
async def rems_form_file(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> Response:
    """The form as a PDF: the program's fields in its order, answers, sources, status."""
    from vitalwatch.records import rems_pdf  # fpdf2 on first use, as the report

    built = await _report(db, ctx, session_id, charts=False)
    return Response(
        rems_pdf.render(await rems.get(db, built), built),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="session-{session_id}-rems-form.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.put(f"{SESSION}/rems-form", response_model=RemsFormOut, responses=_E)
async def save_rems_form(
    session_id: PathId, body: RemsAnswers, db: DbSession, ctx: Ctx, claims: Staff
) -> RemsFormOut:
    """The nurse's answers (merged; null clears one). Closed once marked submitted."""
    built = await _report(db, ctx, session_id, charts=False)
    return await rems.save(db, built, body.answers, actor_of(claims))


@router.post(f"{SESSION}/rems-form/submitted", response_model=RemsFormOut, responses=_E)
async def rems_form_submitted(
    session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff
) -> RemsFormOut:
    """Record that the clinic submitted the form on the REMS portal (VitalWatch sends
    nothing); refused while a needed field is empty."""
    built = await _report(db, ctx, session_id, charts=False)
    return await rems.mark_submitted(db, built, actor_of(claims))


@router.get("/api/v1/rems-forms/due", response_model=list[FormDue])
async def forms_due(db: DbSession, ctx: Ctx, claims: Staff) -> list[FormDue]:
    """Forms not yet marked submitted, with the days left of the 7 calendar days."""
    return await rems.due(db, ctx.latest, ctx.settings.tz, ctx.settings.clinic_name)


@router.get("/api/v1/patients/{patient_id}/series", response_model=SeriesOut, tags=["patients"])
async def patient_series(patient_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> SeriesOut:
    """Every session of a patient: baseline, peaks, lowest SpO2 and MOAA/S, alarms,
    time to discharge readiness and dose."""
    return await series.of_patient(db, ctx.latest, ctx.settings.tz, patient_id)
