"""The console's home: the insight dashboard (funnels per outlet and reseller, the downline tree)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from weishang_core import (
    charts,
    insight,
)
from weishang_core.errors import UserError
from weishang_core.money import format_yuan
from weishang_webstore.console.common import console_router, view
from weishang_webstore.deps import SessionDep, StaffDep

router = console_router()


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, me: StaffDep, days: int = 30) -> HTMLResponse:
    try:
        figures = insight.report(session, days)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return view(
        request,
        "console/home.html",
        me,
        report=figures,
        outlets_svg=charts.funnel_svg(
            f"渠道 · Outlets, last {days} days", [*figures.outlets, figures.total], "outlets"
        ),
        resellers_svg=charts.funnel_svg(f"分銷商 · Resellers, last {days} days", figures.resellers, "resellers"),
        tree_svg=charts.tree_svg(figures.tree),
        yuan=format_yuan,
    )


@router.get("/api/report")
def api_report(session: SessionDep, me: StaffDep, days: int = 30) -> dict[str, Any]:
    try:
        return insight.report(session, days).as_dict()
    except ValueError as exc:
        raise UserError(str(exc)) from None
