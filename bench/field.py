"""Officers on the ground under load: engage -> shown on the phones, and the GUI's stalls
with and without the field service, in one run.

Two phases, each the real console (``open_console`` on a qasync loop, the product's
process pool, the real window offscreen) on the sample deployment, both cameras live and
looping, and engagements at ``--per-hour`` (60 by default) made through the window as the
desk makes them (an alert of the sample cameras, copied under a new id at each scheduled
time, then Engage):

1. **without** the field service (the site policy keeps the desk's manual confirmation);
2. **with** it: ``--phones`` (20) paired browsers, each an isolated context (its own
   cookie jar: its own token) of one real headless Debian Chromium, driven by Playwright
   on a thread of its own (the phones are not the console), every page checked in.

Measured:
- engage -> shown: from the desk's decision (the console's clock) to the moment each
  phone's page has the watchlist photo, the best face and the clothing crop on its screen
  (a User Timing mark on the page's clock, read back at the end: one machine, one clock),
  p50 / p95 / max over every phone and engagement (bar: p95 <= 1 s); on the way, engage ->
  the incident leaves the desk (its decision and "sent" on disk) and -> its text on the
  page (the page's mark again);
- engage -> the desk has the page's *seen* (sent at that moment): the way back as well,
  reported beside it; split by the page's own clock into the phone's part (the incident's
  text arrived -> its photos, which follow as binary frames, on the screen) and the rest
  (engage -> the text on the page, and the "seen" back to the desk);
- the GUI thread's stalls: lateness of a 5 ms precise timer (bench/live_pipeline.py's
  probe), p99 and max, in each phase;
- the load average at each phase's end (the machine is shared: figures are provisional).

    .venv/bin/python bench/field.py [--phones 20] [--per-hour 60] [--minutes 5]

The last line of stdout is one JSON object; it is also written to bench/results/field.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchlib import emit_json, fmt, percentile  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BAR_P95_S = 1.0


class Phones:
    """The officers' browsers, on a thread and event loop of their own."""

    def __init__(self, count: int, pin: str, console_loop: asyncio.AbstractEventLoop) -> None:
        self.count, self.pin, self.console_loop = count, pin, console_loop
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pages: list[Any] = []

    def call(self, coro, timeout: float = 300.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def open(self, service, officer) -> None:
        from playwright.async_api import async_playwright

        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*FLAGS, f"--ignore-certificate-errors-spki-list={self.pin}"],
        )
        for n in range(self.count):
            code, _ = asyncio.run_coroutine_threadsafe(
                service.issue_code(f"PC {1000 + n} Officer", officer), self.console_loop
            ).result(30)
            context = await self.browser.new_context(viewport={"width": 360, "height": 640})
            page = await context.new_page()
            await page.goto(service.pairing_url(code))
            await page.click("#pair")
            try:
                await page.wait_for_selector("#status.on", timeout=60_000)
            except Exception:
                print("phone", n, "did not check in:", await page.inner_text("body"))
                raise
            self.pages.append(page)

    async def close(self) -> None:
        await self.browser.close()
        await self.playwright.stop()

    async def _marks(self) -> list[tuple[str, str, float]]:
        """Each page's marks: ("received" (the text is on the page) or "shown" (its photos
        painted), incident, epoch seconds on the page's clock)."""
        marks = []
        for page in self.pages:
            marks += await page.evaluate(
                "performance.getEntriesByType('mark').flatMap(m => {"
                " const named = m.name.match(/^(received|shown) (.+)$/);"
                " return named ? [[named[1], named[2], (performance.timeOrigin + m.startTime)"
                " / 1000]] : []; })")
        return marks

    def marks(self) -> list[tuple[str, str, float]]:
        return self.call(self._marks())

    def stop(self) -> None:
        self.call(self.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def until(what: str, done, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def phase(args, pool, data_dir: Path, field: bool, probe) -> dict[str, Any]:
    from console.config import SAMPLE_DEPLOYMENT, load_plan
    from console.domain.alerts import Decision
    from console.domain.officers import Role
    from console.domain.sightings import AlertEvent
    from console.qt.app import open_console
    from console.storage import Store

    store = Store.in_dir(data_dir)
    store.officers.add("ward", "PS 1203 Ward", Role.SUPERVISOR, "correct horse", "bench")
    if field:
        store.officers.add("admin", "Admin", Role.ADMIN, "a long admin passphrase 7", "bench")
        admin = store.officers.authenticate("admin", "a long admin passphrase 7")
        store.policy.change(admin, officers_present="checked_in", field_interface="127.0.0.1",
                            field_port=str(args.port))
    officer = store.officers.authenticate("ward", "correct horse")
    plan = replace(load_plan(SAMPLE_DEPLOYMENT), sample=False)
    console = await open_console(plan, store, officer, pool)
    window, session = console.window, console.session
    phones = None
    result: dict[str, Any] = {"field": field}
    try:
        if field:
            service = session.ground
            await until("the field service", lambda: bool(service.address), 30)
            phones = Phones(args.phones, service.server.certificate.spki_sha256,
                            asyncio.get_running_loop())
            started = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(
                None, phones.call, phones.open(service, officer))
            result["pairing_s"] = round(time.monotonic() - started, 1)
            await until("every phone checked in", lambda: sum(
                p.checked_in for p in service.phones.values()) == args.phones, 60)
        else:
            await session.confirm_officers_present()
        await session.start()
        await until("an alert from the cameras", lambda: bool(session.pending), 120)
        template = next(iter(session.pending.values()))
        gap = 3600.0 / args.per_hour
        ends = time.monotonic() + args.minutes * 60
        probe.recording = lambda: True
        engaged: list[tuple[str, float]] = []
        while time.monotonic() < ends:
            alert = replace(template, alert_id=f"{template.camera}-{uuid.uuid4().hex[:12]}",
                            evidence=list(template.evidence), path=list(template.path),
                            raised_at=datetime.now(UTC))
            session._on_alert(AlertEvent(alert, True))
            await session.record.drain()
            # The incident it joined (a pending sighting of the same subject, or its own).
            incident = next(i for i in window.alerts.pending if alert.alert_id in i.alert_ids)
            window.decide(incident.incident_id, Decision.ENGAGE, "")  # as the desk records E
            engaged.append((incident.incident_id, time.monotonic()))
            await asyncio.sleep(gap)
        probe.recording = lambda: False
        result["engagements"] = len(engaged)
        if field:
            await asyncio.sleep(3.0)  # the last engagement's phones
            shown, text, pushed, on_phone, console_side, heard = [], [], [], [], [], []
            missing = 0
            # The pages' own marks (this machine's one clock on both sides).
            marked: dict[tuple[str, str], list[float]] = {}
            for name, incident, at in await asyncio.get_running_loop().run_in_executor(
                    None, phones.marks):
                marked.setdefault((name, incident), []).append(at)
            for alert_id, _ in engaged:
                d = service.dispatches.get(alert_id)
                if d is None or d.engaged_at is None:
                    missing += args.phones
                    continue
                if d.pushed_at is not None:
                    pushed.append((d.pushed_at - d.engaged_at).total_seconds())
                marks = marked.get(("shown", alert_id), [])
                shown += [at - d.engaged_at.timestamp() for at in marks]
                text += [at - d.engaged_at.timestamp()
                         for at in marked.get(("received", alert_id), [])]
                missing += max(0, len(d.recipients) - len(marks))
                for device in d.recipients:
                    seen = [at for step, at in d.steps.get(device, []) if step.value == "seen"]
                    if seen:
                        total = (seen[0] - d.engaged_at).total_seconds()
                        heard.append(total)
                        if device in d.phone_ms:
                            on_phone.append(d.phone_ms[device] / 1000)
                            console_side.append(total - on_phone[-1])
            result["shown_samples"] = len(shown)
            result["not_shown"] = missing
            result["shown_p50_s"] = percentile(shown, 50)
            result["shown_p95_s"] = percentile(shown, 95)
            result["shown_max_s"] = max(shown) if shown else None
            # engage -> the incident's text on the page (its photos follow)
            result["text_p50_s"] = percentile(text, 50)
            result["text_p95_s"] = percentile(text, 95)
            # engage -> the desk has the page's "seen" (the way back included)
            result["heard_p50_s"] = percentile(heard, 50)
            result["heard_p95_s"] = percentile(heard, 95)
            # engage -> pushed: the decision and the dispatch on disk, before the phones
            result["pushed_p50_s"] = percentile(pushed, 50)
            result["pushed_p95_s"] = percentile(pushed, 95)
            # of which the phone's: its text arrived -> the photos (frames that follow the
            # text) on its screen (here every phone shares this machine's two cores and
            # one browser network process; a real phone has its own)
            result["on_phone_p50_s"] = percentile(on_phone, 50)
            result["on_phone_p95_s"] = percentile(on_phone, 95)
            result["console_side_p50_s"] = percentile(console_side, 50)
            result["console_side_p95_s"] = percentile(console_side, 95)
    finally:
        lateness = list(probe.lateness_ms)
        probe.lateness_ms.clear()
        result["gui_stall_p99_ms"] = percentile(lateness, 99)
        result["gui_stall_max_ms"] = max(lateness) if lateness else None
        result["gui_ticks"] = len(lateness)
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
        if phones is not None:
            await asyncio.get_running_loop().run_in_executor(None, phones.stop)
        window._close_confirmed = True
        window.close()
        await console.close()
    return result


async def run(args) -> dict[str, Any]:
    from live_pipeline import GuiProbe

    from console.vision.pool import AnalysisPool

    probe = GuiProbe()
    probe.start()
    results = {}
    with AnalysisPool() as pool, tempfile.TemporaryDirectory(prefix="lfr-field-") as tmp:
        for name, field in (("without", False), ("with", True)):
            if name not in args.phases:
                results[name] = {"gui_stall_p99_ms": None, "gui_stall_max_ms": None,
                                 "gui_ticks": 0, "load_average": None}
                continue
            print(f"phase {name} the field service: {args.minutes} min ...", flush=True)
            results[name] = await phase(args, pool, Path(tmp) / name, field, probe)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--per-hour", type=float, default=60.0)
    parser.add_argument("--minutes", type=float, default=5.0, help="per phase")
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--phases", default="without,with",
                        help="which phases to run (a quick look at the phones: 'with')")
    args = parser.parse_args()
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["lfr-field-bench"])
    app.setQuitOnLastWindowClosed(False)  # the loop ends when the phases are done
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        results = loop.run_until_complete(run(args))
    w, f = results["without"], results["with"]
    print(f"\n{args.phones} phones, {args.per_hour:g} engagements an hour, {args.minutes:g} "
          "min a phase, two live cameras (machine shared: provisional)")
    print(f"engage -> shown on a phone: p50 {fmt(f.get('shown_p50_s'), 3, ' s')}, "
          f"p95 {fmt(f.get('shown_p95_s'), 3, ' s')} (bar {BAR_P95_S:g} s), max "
          f"{fmt(f.get('shown_max_s'), 3, ' s')}; {f.get('shown_samples')} shown, "
          f"{f.get('not_shown')} not")
    print(f"  engage -> leaves the desk (decision and 'sent' on disk): p50 "
          f"{fmt(f.get('pushed_p50_s'), 3, ' s')}, p95 {fmt(f.get('pushed_p95_s'), 3, ' s')}; "
          f"-> its text on the page: p50 {fmt(f.get('text_p50_s'), 3, ' s')}, p95 "
          f"{fmt(f.get('text_p95_s'), 3, ' s')}")
    print(f"  engage -> the desk has the page's 'seen' (the way back too): p50 "
          f"{fmt(f.get('heard_p50_s'), 3, ' s')}, p95 {fmt(f.get('heard_p95_s'), 3, ' s')}")
    print(f"  of which engage -> the text on the page, and 'seen' back: p50 "
          f"{fmt(f.get('console_side_p50_s'), 3, ' s')}, p95 "
          f"{fmt(f.get('console_side_p95_s'), 3, ' s')}; the phone's (text -> photos on "
          f"screen, {args.phones} browsers on this machine's 2 cores): p50 "
          f"{fmt(f.get('on_phone_p50_s'), 3, ' s')}, p95 {fmt(f.get('on_phone_p95_s'), 3, ' s')}")
    for name, r in (("without", w), ("with", f)):
        print(f"GUI stall {name:>7} the field service: p99 {fmt(r['gui_stall_p99_ms'], 1, ' ms')}"
              f", max {fmt(r['gui_stall_max_ms'], 1, ' ms')} ({r['gui_ticks']} ticks); "
              f"load average {r['load_average']}")
    out = HERE / "results" / "field.json"
    out.parent.mkdir(exist_ok=True)
    summary = {"bench": "field", "phones": args.phones, "per_hour": args.per_hour,
               "minutes": args.minutes, **{f"{k}_field": v for k, v in
                                           (("without", w), ("with", f))},
               "bar_p95_met": (f.get("shown_p95_s") or 99) <= BAR_P95_S}
    import json

    out.write_text(json.dumps(summary, indent=2, default=str))
    emit_json(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
