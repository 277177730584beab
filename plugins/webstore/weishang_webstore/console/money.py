"""Money in the console: balances, held commissions, payout runs and their CSV."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from weishang_core import (
    identities,
    ledger,
    payouts,
)
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.statuses import LedgerStatus
from weishang_webstore import form_once
from weishang_webstore.console.common import console_router, view, where
from weishang_webstore.deps import FormDep, SessionDep, StaffDep, StoreDep

router = console_router()


@router.get("/money", response_class=HTMLResponse)
def money(request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    people = [(p, ledger.balances(session, p.id).as_dict()) for p in identities.list_resellers(session)]
    held = [ledger.entry_dict(e, h) for e, h in ledger.entries(session) if e.status == LedgerStatus.PENDING]
    paid = [payouts.as_dict(p, i) for p, i in payouts.list_all(session)]
    return view(request, "console/money.html", me, people=people, held=held, payouts=paid)


@router.post("/money/payouts")
def run_payouts(
    store: StoreDep, me: StaffDep, form: FormDep, minimum: Annotated[str, Form(max_length=20)] = "0.01"
) -> RedirectResponse:
    min_fen = parse_yuan(minimum, "minimum", allow_zero=False)

    def act(session: Session) -> str:
        made = payouts.run(session, min_fen)
        total = format_yuan(sum(p.amount_fen for p in made))
        return where("/console/money", f"{len(made)} payout(s), ¥{total} in all")

    return form_once.run(store.maker, form, act)


@router.get("/money/payouts.csv")
def payouts_csv(session: SessionDep, me: StaffDep) -> Response:
    buffer = io.StringIO()
    payouts.write_csv(session, buffer)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="payouts.csv"'})  # fmt: skip
