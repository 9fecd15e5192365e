"""The ground officer's phone, as a real headless Debian Chromium (driven by Playwright, its
own browser download never used) against a live deployment of the sample plan on the real
pool, with the field service on loopback and its self-signed certificate pinned.

One walk through the issue's "Done when", in the order an officer lives it: pair by code,
check in (the cameras start), receive an engaged incident with both photos and the
clothing crop, Going, Located, Arrested; the outcome, its officer and the time to locate
are in the record and the audit trail verifies; the page closes (the cameras pause after
the policy's silence) and opens again (they resume); at conclusion the open page is
cleared within 2 s and the token is refused.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.config import SAMPLE_DEPLOYMENT, load_plan
from console.domain.alerts import Decision
from console.domain.officers import Role
from console.field.service import ground_team
from console.live.feed import FeedState
from console.live.session import MonitoringSession
from console.live.setup import prepare
from console.reports.record import deployment_record
from console.storage import AsyncStore, Store
from tests.field_helpers import POLICY, Clock, Listener, free_port

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 360, "height": 640}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing "
                                "(scripts/system-deps.sh test installs it)")


async def launch(playwright, pin: str):
    """Chromium as a phone that pinned the field service's certificate (by its key)."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*FLAGS, f"--ignore-certificate-errors-spki-list={pin}"],
    )


async def until(what: str, done, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


def open_live_session(tmp_path, pool):
    plan = load_plan(SAMPLE_DEPLOYMENT)
    store = Store.in_dir(tmp_path)
    store.officers.add("ward", "PS 1203 Ward", Role.SUPERVISOR, "correct horse", "test")
    officer = store.officers.authenticate("ward", "correct horse")
    deployment, watchlist = prepare(store, plan, officer, pool, datetime.now(UTC))
    policy = replace(POLICY, field_port=free_port(), field_silence_seconds=60)
    astore = AsyncStore(store)
    ground = ground_team(policy, tmp_path, astore, deployment.reference, plan.camera_sites)
    listener = Listener()
    ground.listener = listener
    ground.clock = ground.pairing.clock = Clock()
    session = MonitoringSession(
        deployment, plan.cameras, watchlist, pool, astore, officer, listener, policy=policy,
        ground=ground,
    )
    return session, ground, store, listener


def test_an_officer_on_the_ground_pairs_checks_in_and_records_an_arrest_from_the_street(
    tmp_path, process_pool
):
    from playwright.async_api import async_playwright

    async def scenario() -> dict:
        session, service, store, listener = open_live_session(tmp_path, process_pool)
        session.open()
        await until("the field service", lambda: bool(service.address), 20)
        result: dict = {"fingerprint": service.fingerprint}
        async with async_playwright() as p:
            browser = await launch(p, service.server.certificate.spki_sha256)
            phone = await browser.new_context(viewport=PHONE, device_scale_factor=1)
            page = await phone.new_page()
            # -- pair by code (the QR code's link carries it), then the page checks in.
            code, _ = await service.issue_code("PC 4821 Ward", session.officer)
            await page.goto(service.pairing_url(code))
            await page.click("#pair")
            await page.wait_for_selector("#status.on", timeout=15_000)
            result["status"] = await page.inner_text("#status")
            await until("the check-in to confirm officers",
                        lambda: bool(session.deployment.officers_present_confirmed_by))
            await session.start()
            await until("the cameras live", lambda: all(
                f.state == FeedState.LIVE for f in session.feeds), 60)
            result["cameras_started"] = session.cameras.running
            # -- a real alert from the sample cameras, engaged at the desk.
            await until("an alert", lambda: bool(session.pending), 90)
            alert = next(iter(session.pending.values()))
            engaged_at = time.monotonic()
            await session.decide_incident([alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
            card = f"#incident-{alert.alert_id}"
            await page.wait_for_selector(f"{card} button:has-text('Going')", timeout=15_000)
            result["shown_after_s"] = time.monotonic() - engaged_at
            result["images"] = await page.eval_on_selector_all(
                f"{card} img[data-kind]",
                "imgs => imgs.map(i => [i.dataset.kind, i.naturalWidth, i.src.slice(0, 5)])",
            )
            result["card_text"] = await page.inner_text(card)
            await page.screenshot(path=str(tmp_path / "phone-incident.png"))
            # -- Going, Located, Arrested.
            await page.click(f"{card} button:has-text('Going')")
            await page.click(f"{card} button:has-text('Located')")
            await page.click(f"{card} button:has-text('Arrested')")
            await page.wait_for_selector(f"{card} .done", timeout=15_000)
            result["done_text"] = await page.inner_text(f"{card} .done")
            result["outcome"] = store.alerts.outcome_for(alert.alert_id)
            result["steps_text"] = service.steps_text(alert.alert_id)
            # -- presence lost: the page closes, and the silence outlasts the policy.
            await page.close()
            await until("the phone lost", lambda: service.present() is None, 15)
            service.clock.offset += 61
            await until("the cameras paused", lambda: not session.cameras.running, 15)
            result["paused_tiles"] = [f.detail for f in session.feeds]
            result["confirmed_while_away"] = session.deployment.officers_present_confirmed_by
            # -- the page opens again (its token is a cookie): check-in resumes them.
            page = await phone.new_page()
            await page.goto(service.address + "/")
            await page.wait_for_selector("#status.on", timeout=15_000)
            await until("the cameras running again", lambda: session.cameras.running, 30)
            result["resumed"] = session.deployment.officers_present_confirmed_by
            # -- conclusion: the open page is cleared at once, the token refused after.
            started = time.monotonic()
            summary = await session.conclude()
            await page.wait_for_selector("#cleared:not([hidden])", timeout=2_000)
            result["cleared_after_s"] = time.monotonic() - started
            result["receipt"] = summary.get("field_phones")
            result["blob_images_left"] = await page.eval_on_selector_all(
                "img", "imgs => imgs.filter(i => i.src).length")
            result["token_after"] = await page.evaluate(
                "fetch('/api/me', {cache: 'no-store'}).then(r => r.status)")
            await browser.close()
        reference = session.deployment.reference
        await session.close()
        result["record"] = deployment_record(store, reference, keep=False)
        result["audit"] = [(e.actor, e.action, e.details) for e in store.audit.entries()]
        result["verify_key"] = store.verification_key.text()  # shown once, at creation
        store.close()
        result["reference"] = reference
        return result

    r = asyncio.run(scenario())
    assert r["status"].startswith("Checked in: PC 4821 Ward")
    assert r["cameras_started"]
    kinds = {kind: (width, src) for kind, width, src in r["images"]}
    assert set(kinds) == {"watchlist", "live", "clothing"}
    assert all(width > 0 and src == "blob:" for width, src in kinds.values()), kinds
    assert "north" in r["card_text"] or "south" in r["card_text"]
    assert "pavement" in r["card_text"], "the side of the street is on the card"
    assert "Arrested" in r["done_text"], r["done_text"]
    outcome = r["outcome"]
    assert outcome.outcome.value == "arrested" and outcome.officer == "PC 4821 Ward"
    assert "located" in r["steps_text"][0] and "Arrested" in r["steps_text"][0]
    assert all("paused" in d for d in r["paused_tiles"]) and r["confirmed_while_away"] is None
    assert r["resumed"] == "PC 4821 Ward"
    assert r["cleared_after_s"] < 2.0
    assert r["blob_images_left"] == 0 and r["token_after"] == 410
    assert r["receipt"] and "cleared" in r["receipt"][0]
    figures = r["record"].figures
    assert figures.dispatched == 1 and figures.outcomes_on_the_ground == 1
    assert figures.locate_median_s is not None and figures.locate_median_s > 0
    recorded = [d for _, a, d in r["audit"] if a == "outcome recorded"]
    assert recorded and all(d["recorded_on"].startswith("on the ground: PC 4821 Ward")
                            for d in recorded)
    actions = [a for _, a, _ in r["audit"]]
    for needed in ("field phone paired", "field officer checked in", "field phone lost",
                   "officers on the ground no longer checked in", "field incident sent",
                   "field page cleared", "field phones ended at conclusion"):
        assert needed in actions, needed
    sent = next(d for _, a, d in r["audit"] if a == "field incident sent")
    assert sent["images"] == ["clothing", "live", "watchlist"] and len(sent["devices"]) == 1
    seen = next(d for _, a, d in r["audit"] if a == "field step" and d["step"] == "seen")
    assert sorted(seen["images_viewed"]) == ["clothing", "live", "watchlist"]
    # The trail verifies, as a supervisor would check it (with the verification key).
    done = subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify", "--data-dir", str(tmp_path),
         "--verify-key", r["verify_key"]],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and "intact" in done.stdout, done.stdout + done.stderr
