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
# Each photo on a card: its kind and the width it was drawn at (0: nothing drawn).
PHOTOS_JS = "cs => cs.map(c => [c.dataset.kind, c.width])"
# Counts the object URLs (blob: URLs) a page makes: a photo is never given one.
COUNT_OBJECT_URLS = """
window.objectUrlsMade = 0;
const made = URL.createObjectURL;
URL.createObjectURL = (...args) => { window.objectUrlsMade += 1; return made(...args); };
"""
# What the canvases a page held its photos in still hold (the test keeps hold of them in
# window.held, so that one cannot hide by leaving the document): each drawn into a copy,
# after being sized back up when wiped (a resize alone would bring the old bitmap back).
HELD_PIXELS = """resize => window.held.map(c => {
  if (resize) c.width = c.height = 8;
  const copy = document.createElement('canvas');
  copy.width = copy.height = 8;
  const g = copy.getContext('2d');
  g.drawImage(c, 0, 0);
  return g.getImageData(0, 0, 8, 8).data.some(v => v) ? 'pixels' : 'empty';
})"""

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
            engaged_at, engaged_wall = time.monotonic(), time.time()
            await session.decide_incident([alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
            card = f"#incident-{alert.alert_id}"
            result["alert_id"] = alert.alert_id
            await page.wait_for_selector(f"{card} button:has-text('Going')", timeout=15_000)
            result["shown_after_s"] = time.monotonic() - engaged_at
            result["images"] = await page.eval_on_selector_all(
                f"{card} canvas[data-kind]", PHOTOS_JS)
            result["card_text"] = await page.inner_text(card)
            await page.evaluate(f"window.held = [...document.querySelectorAll('{card} canvas')]")
            result["held_shown"] = await page.evaluate(HELD_PIXELS, False)
            # The moment its photos were painted, marked on the page for the bench.
            await page.wait_for_function(
                "performance.getEntriesByType('mark').length > 1", timeout=5_000)
            result["marks"] = await page.evaluate(
                "performance.getEntriesByType('mark').map(m => "
                "[m.name, (performance.timeOrigin + m.startTime) / 1000])")
            result["marked_by"] = time.time()
            result["engaged_wall"] = engaged_wall
            await page.screenshot(path=str(tmp_path / "phone-incident.png"))
            # -- Going, Located, Arrested.
            await page.click(f"{card} button:has-text('Going')")
            await page.click(f"{card} button:has-text('Located')")
            await page.click(f"{card} button:has-text('Arrested')")
            await page.wait_for_selector(f"{card} .done", timeout=15_000)
            result["done_text"] = await page.inner_text(f"{card} .done")
            # The incident closed on the page: its photos are wiped, not only out of sight.
            await page.wait_for_function(f"!document.querySelector('{card} canvas')",
                                         timeout=5_000)
            result["held_closed"] = await page.evaluate(HELD_PIXELS, True)
            result["outcome"] = store.alerts.outcome_for(alert.alert_id)
            result["steps_text"] = service.steps_text(alert.alert_id)
            # -- presence lost: the page closes, and the silence outlasts the policy.
            await page.close()
            await until("the phone lost", lambda: service.present() is None, 15)
            service.clock.offset += 61
            # (the tiles say why just after the cameras stop: wait for both)
            await until("the cameras paused", lambda: not session.cameras.running and all(
                "paused" in (f.detail or "") for f in session.feeds), 15)
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
    kinds = dict(r["images"])
    assert set(kinds) == {"watchlist", "live", "clothing"}
    assert all(width > 0 for width in kinds.values()), kinds
    assert [name for name, _ in r["marks"]] == [f"received {r['alert_id']}",
                                                f"shown {r['alert_id']}"]
    assert r["engaged_wall"] < r["marks"][0][1] <= r["marks"][1][1] <= r["marked_by"]
    assert "north" in r["card_text"] or "south" in r["card_text"]
    assert "pavement" in r["card_text"], "the side of the street is on the card"
    assert "Arrested" in r["done_text"], r["done_text"]
    outcome = r["outcome"]
    assert outcome.outcome.value == "arrested" and outcome.officer == "PC 4821 Ward"
    assert "located" in r["steps_text"][0] and "Arrested" in r["steps_text"][0]
    assert all("paused" in d for d in r["paused_tiles"]) and r["confirmed_while_away"] is None
    assert r["resumed"] == "PC 4821 Ward"
    assert r["cleared_after_s"] < 2.0
    assert r["token_after"] == 410
    assert r["held_shown"] == ["pixels"] * 3 and r["held_closed"] == ["empty"] * 3
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


# What a page could keep of anything, read from inside it.
STORAGE = """async () => ({
  local: localStorage.length, session: sessionStorage.length,
  indexeddb: (await indexedDB.databases()).length, caches: (await caches.keys()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
  cookies: document.cookie.length,
})"""
NOTHING_KEPT = {"local": 0, "session": 0, "indexeddb": 0, "caches": 0, "workers": 0,
                "cookies": 0}


def test_the_photos_come_as_bytes_live_in_page_memory_only_and_the_page_sends_text_only(
    tmp_path
):
    """A phone's browser with a profile on disk (as a real phone's is): the incident's photos
    come as binary frames and show; nothing of them lands in any storage the browser
    keeps; a binary frame from the page is refused and the page comes back with its
    photos; a page opened again is sent them again; no URL is ever made for a photo, and
    at conclusion the canvases holding them are wiped."""
    import numpy as np
    from playwright.async_api import async_playwright

    from console.domain.sightings import AlertEvent
    from console.storage.field import MESSAGE_REFUSED
    from tests.field_helpers import engaged_alert, open_field_session

    rng = np.random.default_rng(26)  # noise: every photo's bytes are its own
    alert = replace(engaged_alert(None, scene=rng.integers(0, 255, (540, 960, 3), np.uint8)),
                    crop_rgb=rng.integers(0, 255, (160, 160, 3), np.uint8))
    profile = tmp_path / "phone-profile"
    card = f"#incident-{alert.alert_id}"

    async def scenario() -> dict:
        session, service, store, _ = open_field_session(tmp_path / "desk")
        session.open()
        await until("the field service", lambda: bool(service.address), 20)
        r: dict = {}
        async with async_playwright() as p:
            phone = await p.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), viewport=PHONE,
                args=[*FLAGS, "--ignore-certificate-errors-spki-list="
                      + service.server.certificate.spki_sha256],
            )
            # Every object URL the page makes, counted from before its own script runs.
            await phone.add_init_script(COUNT_OBJECT_URLS)
            page = await phone.new_page()
            code, _ = await service.issue_code("PC 4821 Ward", session.officer)
            await page.goto(service.pairing_url(code))
            await page.click("#pair")
            await page.wait_for_selector("#status.on", timeout=15_000)
            device = next(iter(service.phones))
            session._on_alert(AlertEvent(alert, True))
            await session.record.drain()
            await session.decide_incident([alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
            await page.wait_for_selector(f"{card} button:has-text('Going')", timeout=15_000)
            r["jpegs"] = dict(service.dispatches[alert.alert_id].images)
            r["shown"] = await page.eval_on_selector_all(f"{card} canvas[data-kind]", PHOTOS_JS)
            r["card"] = await page.inner_text(card)
            r["kept"] = await page.evaluate(STORAGE)
            # A binary frame from the page: refused, its connection closed; it reconnects.
            first_page = service.phones[device].page
            await page.evaluate("state.socket.send(new Uint8Array([0, 2, 123, 125, 255, 216]))")
            await until("the page back", lambda: service.phones[device].checked_in and (
                service.phones[device].page not in ("", first_page)), 20)
            await page.wait_for_selector("#status.on", timeout=10_000)
            r["refused"] = [e.details for e in store.audit.entries()
                            if e.action == MESSAGE_REFUSED]
            r["after_refusal"] = await page.eval_on_selector_all(f"{card} canvas[data-kind]",
                                                                 PHOTOS_JS)
            # The page closed and opened again: its incident comes again, photos and all.
            r["object_urls_first"] = await page.evaluate("window.objectUrlsMade")
            await page.close()
            await until("the phone lost", lambda: service.present() is None, 15)
            page = await phone.new_page()
            await page.goto(service.address + "/")
            await page.wait_for_selector(f"{card} button:has-text('Going')", timeout=15_000)
            await page.wait_for_function(
                f"[...document.querySelectorAll('{card} canvas[data-kind]')]"
                ".every(c => c.width > 0)", timeout=10_000)
            r["reopened"] = await page.eval_on_selector_all(f"{card} canvas[data-kind]", PHOTOS_JS)
            # Conclusion: the page is cleared and the canvases that held the photos are empty.
            await page.evaluate(f"window.held = [...document.querySelectorAll('{card} canvas')]")
            r["held_shown"] = await page.evaluate(HELD_PIXELS, False)
            await session.conclude()
            await page.wait_for_selector("#cleared:not([hidden])", timeout=5_000)
            r["wiped"] = await page.evaluate(HELD_PIXELS, True)
            r["object_urls"] = await page.evaluate("window.objectUrlsMade")
            r["kept_after"] = await page.evaluate(STORAGE)
            await phone.close()  # the profile on disk is all the browser kept
        await session.close()
        store.close()
        return r

    r = asyncio.run(scenario())
    jpegs = r["jpegs"]
    assert sorted(jpegs) == ["clothing", "live"]
    for shown in (r["shown"], r["after_refusal"], r["reopened"]):
        assert {k: w > 0 for k, w in shown} == {"live": True, "clothing": True}, shown
    assert "No picture" in r["card"], "the watchlist photo it was not sent says so"
    assert r["kept"] == NOTHING_KEPT and r["kept_after"] == NOTHING_KEPT
    assert len(r["refused"]) == 1 and r["refused"][0]["why"] == "a binary frame from the page"
    assert r["held_shown"] == ["pixels"] * 2 and r["wiped"] == ["empty"] * 2
    assert r["object_urls_first"] == 0 and r["object_urls"] == 0
    # Nothing of any photo on the browser's disk: neither its bytes nor their base64.
    import base64

    needles = []
    for jpeg in jpegs.values():
        middle = len(jpeg) // 2
        text = base64.b64encode(jpeg)
        needles += [jpeg[middle:middle + 48], text[len(text) // 2:len(text) // 2 + 64]]
    files = [f for f in profile.rglob("*") if f.is_file()]
    assert files, "the browser kept a profile"
    found = [str(f) for f in files for n in needles if n in f.read_bytes()]
    assert found == [], found
