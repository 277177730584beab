"""The web store writes clicks in batches: a batch must decide exactly what the same clicks one by one would."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from weishang_core import identities, referrals
from weishang_core.models import Binding, Click, utcnow

# who, on which link, how many seconds after the previous click, from which address (None: unknown), with
# which browser (a spammer changes it at will)
click = st.tuples(
    st.sampled_from(["v1", "v2", "v3", "v4"]),
    st.integers(0, 2),
    st.integers(0, 90),
    st.sampled_from(["10.0.0.1", "10.0.0.2", None]),
    st.sampled_from(["WeChat/8.0", "Chrome/120", None]),
)


def outcome(session, per_address: int) -> tuple[list[tuple[str, int, bool]], dict[str, tuple[int, int | None]]]:
    clicks = [(c.visitor_id, c.link_id, c.counted) for c in session.scalars(select(Click).order_by(Click.id))]
    counted_at: dict[tuple, list] = {}
    for c in session.scalars(select(Click).where(Click.counted.is_(True), Click.ip_hash.is_not(None))):
        counted_at.setdefault((c.link_id, c.ip_hash), []).append(c.created_at)
    window = timedelta(seconds=referrals.BURST_SECONDS)
    for times in counted_at.values():  # click spam: an address counts at most N clicks per window on a link
        times.sort()
        assert all(later - earlier >= window for earlier, later in zip(times, times[per_address:], strict=False))
    bindings = {b.visitor_id: (b.referrer_id, b.click_id is not None) for b in session.scalars(select(Binding))}
    return clicks, bindings


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(click, min_size=1, max_size=25),
    rule=st.sampled_from(["last-click", "first-click"]),
    protection=st.sampled_from([0, 1]),
    per_address=st.sampled_from([1, 2]),
)
def test_a_batch_counts_and_binds_like_one_click_at_a_time(services, plan, rule, protection, per_address) -> None:
    rules = dataclasses.replace(
        services.settings, attribution_rule=rule, protection_days=protection, clicks_per_address=per_address
    )
    start = utcnow()
    results = []
    for bulk in (False, True):
        session = services.maker()
        try:
            qin = identities.get_or_create(session, "勤妹子")
            fang = identities.get_or_create(session, "阿芳")
            qin.is_reseller = fang.is_reseller = True
            links = [referrals.create_link(session, qin), referrals.create_link(session, fang)]
            links.append(links[0])  # two clicks' worth on 勤妹子's link
            at, made = start, []
            for visitor, which, gap, ip, agent in plan:
                at = at + timedelta(seconds=gap)
                made.append(referrals.NewClick(links[which], visitor, "weibo", ip, agent, at))
            if bulk:
                referrals.record_clicks(session, rules, made)
            else:
                for c in made:
                    referrals.record_click(session, rules, c.link, c.visitor_id, c.outlet, c.ip, c.user_agent, c.at)
            clicks, bindings = outcome(session, per_address)
            names = {link.id: n for n, link in enumerate(links[:2])}
            people = {qin.id: "qin", fang.id: "fang"}
            results.append(
                (
                    [(v, names[link], counted) for v, link, counted in clicks],
                    {v: (people[r], has) for v, (r, has) in bindings.items()},
                )  # fmt: skip
            )
        finally:
            session.rollback()
            session.close()
    assert results[0] == results[1]
