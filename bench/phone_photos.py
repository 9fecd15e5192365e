"""How fast a phone's page puts an incident's photos on its screen, two ways side by side.

The phone page (console/field/page/app.js) gets an incident's text, then each photo as a
binary WebSocket frame. It used to make a ``blob:`` URL of each frame and load it into an
``<img>``; it now decodes the bytes with ``createImageBitmap`` straight into a canvas (no
URL at all). This script measures both in one run, on the same browsers and the same
frames, rounds interleaved (img, canvas, text only, img, canvas, ...), so that the machine's
load falls on both alike:

- ``img``: blob: URL -> <img>, shown when every image has loaded (Chromium may decode an
  <img> when it paints it, after ``onload``: if anything, this flatters the old way);
- ``canvas``: createImageBitmap -> a ``bitmaprenderer`` canvas, shown when all are drawn;
- ``text``: the incident's text alone (no photos): the floor.

Each of ``--phones`` (20) pages is an isolated context of one headless Debian Chromium at
360x640 (as bench/field.py's phones). A small aiohttp server on 127.0.0.1 (plain HTTP:
localhost is a secure context, and TLS is the same for both ways) sends every page the
text, then the three photos made by the console's own ``console.field.images`` from the
committed sample images. Measured per page: the text's arrival -> the frame that paints
the photos (the page's clock), and the server's send -> that frame (one machine, one
clock), p50 / p95; and the text -> the last photo's frame on the page (how long the
photos queue behind one another).

    .venv/bin/python bench/phone_photos.py [--phones 20] [--rounds 8]

The last line of stdout is one JSON object; it is also written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchlib import emit_json, fmt, percentile  # noqa: E402
from field import CHROMIUM, FLAGS  # noqa: E402  (the same browser as the whole bench's)

WAYS = ("img", "canvas", "text")
SAMPLES = ROOT / "sample_streams"

# The page: the incident's card with a place for each photo, drawn one of the two ways.
PAGE = """<!doctype html><html><body><main id="cards"></main><script>
"use strict";
window.shown = {};
const cards = new Map();
const socket = new WebSocket(`ws://${location.host}/live`);
socket.binaryType = "arraybuffer";
socket.onmessage = (e) => typeof e.data === "string" ? text(JSON.parse(e.data)) : photo(e.data);
function text(m) {
  const card = {m, at: performance.now(), left: new Set(m.images), places: {}};
  const el = document.createElement("article");
  const name = document.createElement("p");
  name.textContent = m.id;
  el.append(name);
  for (const kind of m.images) {
    const place = document.createElement(m.way === "img" ? "img" : "canvas");
    place.style.width = "150px";
    card.places[kind] = place;
    el.append(place);
  }
  document.getElementById("cards").prepend(el);
  cards.set(m.id, card);
  if (!m.images.length) painted(card);
}
function painted(card) {
  requestAnimationFrame(() => {
    window.shown[card.m.id] = [performance.timeOrigin + performance.now(),
                               performance.now() - card.at, card.lastFrame || 0];
  });
}
function drawn(card, kind) {
  card.left.delete(kind);
  if (!card.left.size) painted(card);
}
async function photo(buffer) {
  const arrived = performance.now();
  const length = new DataView(buffer).getUint16(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 2, length)));
  const jpeg = new Blob([new Uint8Array(buffer, 2 + length)], {type: "image/jpeg"});
  const card = cards.get(header.id);
  card.lastFrame = Math.max(card.lastFrame || 0, arrived - card.at);
  const place = card.places[header.kind];
  if (card.m.way === "img") {
    place.onload = () => drawn(card, header.kind);
    place.src = URL.createObjectURL(jpeg);
  } else {
    const bitmap = await createImageBitmap(jpeg);
    place.width = bitmap.width;
    place.height = bitmap.height;
    place.getContext("bitmaprenderer").transferFromImageBitmap(bitmap);
    drawn(card, header.kind);
  }
}
</script></body></html>"""


def photo_frames(incident: str) -> list[bytes]:
    """The three photos as the console sends them (its own encoder and frame format)."""
    import cv2

    from console.field.images import jpeg, photo_frame

    def rgb(path: Path):
        return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)

    photos = {"watchlist": SAMPLES / "watchlist" / "WL-0001.jpg",
              "live": SAMPLES / "source_images" / "obama.jpg",
              "clothing": SAMPLES / "source_images" / "messi5.jpg"}
    return [photo_frame(incident, kind, jpeg(rgb(path))) for kind, path in photos.items()]


async def run(args) -> dict[str, Any]:
    from aiohttp import web
    from playwright.async_api import async_playwright

    sockets: list[web.WebSocketResponse] = []

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def live(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)  # as the field service's
        await ws.prepare(request)
        sockets.append(ws)
        async for _ in ws:
            pass
        return ws

    async def push(ws: web.WebSocketResponse, text: str, frames: list[bytes]) -> None:
        await ws.send_str(text)
        await asyncio.sleep(0)  # every text before any photo, as the service does
        for frame in frames:
            await ws.send_bytes(frame)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/live", live)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    on_page: dict[str, list[float]] = {way: [] for way in WAYS}
    last_frame: dict[str, list[float]] = {way: [] for way in WAYS}
    from_send: dict[str, list[float]] = {way: [] for way in WAYS}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pages = []
        for _ in range(args.phones):
            context = await browser.new_context(viewport={"width": 360, "height": 640})
            page = await context.new_page()
            await page.goto(f"http://127.0.0.1:{args.port}/")
            pages.append(page)
        while len(sockets) < args.phones:
            await asyncio.sleep(0.1)
        for n in range(args.rounds):
            for way in WAYS:
                incident = f"{way}-{n}"
                frames = [] if way == "text" else photo_frames(incident)
                text = json.dumps({"id": incident, "way": way,
                                   "images": [] if way == "text" else
                                   ["watchlist", "live", "clothing"]})
                sent = time.time()
                await asyncio.gather(*(push(ws, text, frames) for ws in sockets))
                await asyncio.sleep(args.gap)
                for page in pages:
                    mark = await page.evaluate(f"window.shown['{incident}'] || null")
                    if mark:
                        from_send[way].append(mark[0] / 1000 - sent)
                        on_page[way].append(mark[1] / 1000)
                        last_frame[way].append(mark[2] / 1000)
        await browser.close()
    await runner.cleanup()
    result: dict[str, Any] = {"phones": args.phones, "rounds": args.rounds}
    for way in WAYS:
        result[way] = {"shown": len(on_page[way]),
                       "on_page_p50_s": percentile(on_page[way], 50),
                       "on_page_p95_s": percentile(on_page[way], 95),
                       "last_frame_p50_s": percentile(last_frame[way], 50),
                       "last_frame_p95_s": percentile(last_frame[way], 95),
                       "from_send_p50_s": percentile(from_send[way], 50),
                       "from_send_p95_s": percentile(from_send[way], 95)}
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between sends")
    parser.add_argument("--port", type=int, default=18777)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(f"{args.phones} pages, {args.rounds} rounds, ways interleaved; load average "
          f"{result['load_average']} (machine shared: provisional)")
    for way in WAYS:
        r = result[way]
        print(f"{way:>6}: text arrived -> painted p50 {fmt(r['on_page_p50_s'], 3, ' s')}, p95 "
              f"{fmt(r['on_page_p95_s'], 3, ' s')}; sent -> painted p50 "
              f"{fmt(r['from_send_p50_s'], 3, ' s')}, p95 {fmt(r['from_send_p95_s'], 3, ' s')}"
              f" ({r['shown']} of {args.phones * args.rounds} shown)")
        if way != "text":
            print(f"        the text -> its last photo's frame on the page p50 "
                  f"{fmt(r['last_frame_p50_s'], 3, ' s')}, "
                  f"p95 {fmt(r['last_frame_p95_s'], 3, ' s')}")
    img, canvas = result["img"], result["canvas"]
    if img["from_send_p50_s"] and canvas["from_send_p50_s"]:
        result["canvas_over_img_p50"] = canvas["from_send_p50_s"] / img["from_send_p50_s"]
        result["canvas_over_img_p95"] = canvas["from_send_p95_s"] / img["from_send_p95_s"]
        print(f"canvas / img, sent -> painted: p50 x{result['canvas_over_img_p50']:.2f}, "
              f"p95 x{result['canvas_over_img_p95']:.2f}")
    out = HERE / "results" / "phone_photos.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    emit_json({"bench": "phone_photos", **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
