"""The field service's HTTPS front: aiohttp on the console's event loop.

Only what a phone needs, and every request read as hostile:

- TLS only, on the one address and port the site policy names (``all`` is the only way to
  listen on every interface). A plain-HTTP client gets no answer: the handshake fails.
- The page and its two files are served from memory by exact path; anything else is 404
  (no file system path is ever built from a request, so ``..`` reaches nothing).
- ``/api/*`` requires the request's Host to be the service's own and, when a browser says
  where it comes from (Origin, Sec-Fetch-Site), that it is the service's own page: a page
  on any other origin is refused (403). No CORS header is ever sent.
- Bodies are JSON, at most ``MAX_BODY`` bytes (413), read within ``BODY_TIMEOUT_S``;
  malformed ones are refused (400).
- The phone's token is an HttpOnly, Secure, SameSite=Strict cookie; every API request
  also names the phone's open page (``X-Field-Page``), so a copied token alone does
  nothing while the phone is checked in.
- A connection must deliver a whole request head within ``HEAD_TIMEOUT_S`` of opening
  (and of the previous response): a slow-loris client is cut off (``_Deadline``).
- An incident's photos come with it over the page's WebSocket (audited before they
  leave), as binary frames right after its text: never an HTTP resource a browser could
  cache, and everything is ``Cache-Control: no-store`` anyway. The page decodes them
  into canvases in its memory only, wiped when the incident closes, and makes no URL for
  them; no service worker, no storage API (``Content-Security-Policy`` forbids workers and
  every image URL outright). The page itself
  sends text only: a binary frame from it is refused (audited) and its connection closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from console.field.pairing import PairingRefused
from console.field.service import HEARTBEAT_S, FieldService, Phone, Refused

log = logging.getLogger(__name__)

COOKIE = "__Host-lfr-field"
MAX_BODY = 4096
BODY_TIMEOUT_S = 5.0
HEAD_TIMEOUT_S = 5.0
HANDSHAKE_TIMEOUT_S = 5.0
PAGE_FILES = {
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/app.css": ("app.css", "text/css"),
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; worker-src 'none'; manifest-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _page_files() -> dict[str, bytes]:
    folder = resources.files("console.field") / "page"
    return {name: (folder / name).read_bytes() for name, _ in PAGE_FILES.values()}


class _Deadline(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection: the request head must arrive within
    HEAD_TIMEOUT_S of the connection opening, and of each response on a kept-alive one.
    The handler disarms it when a request reaches it (``armed``); a WebSocket stays
    disarmed (its heartbeats are watched by the service)."""

    def __init__(self, inner: asyncio.Protocol, registry: dict[Any, _Deadline]) -> None:
        self.inner = inner
        self.registry = registry
        self.transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __getattr__(self, name: str) -> Any:  # aiohttp's own protocol methods
        return getattr(self.inner, name)

    def arm(self) -> None:
        self.disarm()
        self._timer = asyncio.get_running_loop().call_later(HEAD_TIMEOUT_S, self._expired)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        log.info("field: a connection sent no whole request within %s s: closed",
                 HEAD_TIMEOUT_S)
        if self.transport is not None:
            self.transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.registry[transport] = self
        self.arm()
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self.registry.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)  # type: ignore[attr-defined]

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[attr-defined]

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class _Socket:
    """A phone's WebSocket as the service's Channel."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(message))

    async def send_bytes(self, frame: bytes) -> None:
        if not self.ws.closed:
            await self.ws.send_bytes(frame)

    async def close(self, code: int, why: str) -> None:
        await self.ws.close(code=code, message=why.encode()[:120])


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=SECURITY_HEADERS)


class FieldServer:
    def __init__(self, service: FieldService) -> None:
        self.service = service
        self.files = _page_files()
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        self.app.router.add_get("/", self._page)
        self.app.router.add_get("/app.js", self._page)
        self.app.router.add_get("/app.css", self._page)
        self.app.router.add_post("/api/pair", self._pair)
        self.app.router.add_get("/api/me", self._me)
        self.app.router.add_get("/api/live", self._live)
        self.app.router.add_post("/api/incidents/{incident}/step", self._step)
        self.app.router.add_post("/api/incidents/{incident}/outcome", self._outcome)
        self.runner: web.AppRunner | None = None
        self.servers: list[asyncio.base_events.Server] = []
        self.deadlines: dict[Any, _Deadline] = {}
        self.hosts: set[str] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    # -- start and stop ------------------------------------------------------------------
    async def start(self) -> tuple[str, str]:
        """Listen; the service's address (https://host:port) and certificate fingerprint."""
        from console.field.certs import force_certificate, install_certificate

        settings = self.service.settings
        hosts = ["0.0.0.0", "::"] if settings.host == "all" else [settings.host]
        shown = settings.host if settings.host != "all" else "127.0.0.1"
        if settings.certificate:
            cert = force_certificate(Path(settings.certificate), Path(settings.key))
        else:
            names = sorted({shown, "127.0.0.1", "localhost"})
            cert = install_certificate(settings.data_dir, names)
        self.certificate = cert
        context = cert.context()
        self.runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, keepalive_timeout=15.0,
            max_line_size=4096, max_field_size=4096,
        )
        await self.runner.setup()
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.Protocol:
            return _Deadline(self.runner.server(), self.deadlines)  # type: ignore[union-attr]

        for host in hosts:
            server = await loop.create_server(
                protocol, host, settings.port, ssl=context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S, reuse_address=True,
                backlog=64,
            )
            self.servers.append(server)
        port = self.servers[0].sockets[0].getsockname()[1]
        host_text = f"[{shown}]" if ":" in shown else shown
        self.hosts = {f"{host_text}:{port}", f"localhost:{port}"}
        if settings.host == "all":
            self.hosts.add(f"127.0.0.1:{port}")
        return f"https://{host_text}:{port}", cert.sha256

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=4002, message=b"service stopped")
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        self.servers = []
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    # -- the guard on every request ----------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        deadline = self.deadlines.get(request.transport)
        if deadline is not None:
            deadline.disarm()
        try:
            if request.host not in self.hosts:
                return _refusal(421, "Wrong host for this service.")
            if request.path.startswith("/api/") and not self._same_origin(request):
                return _refusal(403, "Cross-origin requests are refused.")
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                return _refusal(exc.status, exc.reason)
            except Refused as exc:
                return _refusal(exc.status, str(exc))
            if not isinstance(response, web.WebSocketResponse):
                response.headers.update(SECURITY_HEADERS)
            return response
        finally:
            if deadline is not None and request.path != "/api/live":
                deadline.arm()  # the next request head on this connection

    def _same_origin(self, request: web.Request) -> bool:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"https://{request.host}":
            return False
        # A state change from a browser always says where it comes from.
        return request.method == "GET" or origin is not None or site is not None

    def _source(self, request: web.Request) -> str:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        return str(peer[0]) if peer else "unknown"

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Refused(415, "JSON is needed.")
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise Refused(413, "Too large.")
        try:
            raw = await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)
        except TimeoutError:
            raise Refused(408, "Too slow.") from None
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, "Too large.") from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "Malformed JSON.") from None
        if not isinstance(body, dict):
            raise Refused(400, "A JSON object is needed.")
        return body

    async def _phone(self, request: web.Request, page: bool = True) -> Phone:
        phone = await self.service.authenticate(request.cookies.get(COOKIE), self._source(request))
        if page:
            self.service.check_page(phone, request.headers.get("X-Field-Page"))
        return phone

    # -- handlers ------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.Response:
        name, kind = PAGE_FILES[request.path]
        return web.Response(body=self.files[name], content_type=kind, charset="utf-8")

    async def _pair(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        code = body.get("code")
        if not isinstance(code, str):
            raise Refused(400, "A code is needed.")
        try:
            phone, token = await self.service.pair(code, self._source(request))
        except PairingRefused as exc:
            return _refusal(429 if exc.locked else 403, str(exc))
        response = web.json_response({"officer": phone.officer, "device": phone.device})
        response.set_cookie(COOKIE, token, secure=True, httponly=True, samesite="Strict",
                            path="/")
        return response

    async def _me(self, request: web.Request) -> web.Response:
        phone = await self._phone(request, page=False)
        return web.json_response({"officer": phone.officer, "device": phone.device})

    async def _live(self, request: web.Request) -> web.StreamResponse:
        phone = await self._phone(request, page=False)
        # No permessage-deflate: the photos are JPEG (deflate gains nothing on them and
        # cost the desk's loop and the phone's network process a pass over every byte of
        # every phone's copy), and no compression side channel on what the page sends.
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S * 2, max_msg_size=MAX_BODY,
                                   compress=False)
        await ws.prepare(request)
        self.sockets.add(ws)
        page = ""
        try:
            try:
                page = await self.service.connect(phone, _Socket(ws), self._source(request))
            except Refused as exc:
                await ws.send_str(json.dumps({"type": "refused", "why": str(exc)}))
                await ws.close(code=4009, message=b"refused")
                return ws
            async for message in ws:
                if message.type == WSMsgType.BINARY:
                    # The page sends JSON text only: anything else is refused (audited),
                    # and its connection closed ("unsupported data"); the page may
                    # reconnect and is sent its incidents again.
                    await self.service.refuse_message(phone, "a binary frame from the page")
                    await ws.close(code=WSCloseCode.UNSUPPORTED_DATA,
                                   message=b"the page sends text only")
                    break
                if message.type != WSMsgType.TEXT:
                    continue
                await self._from_page(ws, phone, page, message.data)
        finally:
            self.sockets.discard(ws)
            if page:
                await self.service.disconnected(phone, page)
        return ws

    async def _from_page(
        self, ws: web.WebSocketResponse, phone: Phone, page: str, text: str
    ) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict) or page != phone.page:
            return
        kind = message.get("type")
        if kind == "heartbeat":
            await self.service.heartbeat(phone, page)
        elif kind == "cleared":
            await self.service.cleared(phone)
        elif kind == "step":
            # A step over the page's own connection (the page sends "seen" this way: no
            # HTTPS connection to open, so the desk hears it at once). The same rules as
            # over HTTPS; the reply names the request.
            request_id = message.get("request")
            try:
                reply = await self._take_step(phone, message.get("id"), message)
            except Refused as exc:
                reply = {"error": str(exc), "status": exc.status}
            if not ws.closed:
                await ws.send_str(json.dumps({
                    "type": "reply", "request": request_id if _request_id(request_id) else "",
                    **reply,
                }))

    async def _step(self, request: web.Request) -> web.Response:
        phone = await self._phone(request)
        body = await self._body(request)
        reply = await self._take_step(phone, request.match_info["incident"], body)
        return web.json_response(reply)

    async def _take_step(
        self, phone: Phone, incident: object, body: dict[str, Any]
    ) -> dict[str, Any]:
        """A step, from a request's body or a message on the page's connection."""
        step, request_id = body.get("step"), body.get("request")
        viewed = body.get("viewed", [])
        if not isinstance(incident, str) or not isinstance(step, str) or not _request_id(
            request_id
        ) or not isinstance(viewed, list):
            raise Refused(400, "A step and a request id are needed.")
        shown_ms = body.get("shown_ms")
        return await self.service.step(
            phone, incident, step, request_id,
            [v for v in viewed if isinstance(v, str)],
            float(shown_ms) if isinstance(shown_ms, int | float) and 0 <= shown_ms < 1e6
            else None,
        )

    async def _outcome(self, request: web.Request) -> web.Response:
        phone = await self._phone(request)
        body = await self._body(request)
        outcome, note, request_id = body.get("outcome"), body.get("note", ""), body.get("request")
        if not isinstance(outcome, str) or not isinstance(note, str) or not _request_id(
            request_id
        ):
            raise Refused(400, "An outcome and a request id are needed.")
        reply = await self.service.outcome(
            phone, request.match_info["incident"], outcome, note, request_id
        )
        return web.json_response(reply)


def _request_id(value: object) -> bool:
    return isinstance(value, str) and 8 <= len(value) <= 64 and value.isascii()


def new_request_id() -> str:
    return secrets.token_hex(8)
