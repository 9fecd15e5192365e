"""The field service read as hostile: every attack the issue names is performed against the
real HTTPS server on loopback, and each gets a clear refusal with nothing lost or leaked."""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import pytest

from console.domain.alerts import Decision
from console.domain.sightings import AlertEvent
from console.field import pairing as pairing_rules
from console.field import server as field_server
from console.field.pairing import Pairing, PairingRefused
from console.storage.field import (
    MESSAGE_REFUSED,
    PAIRING_LOCKED,
    PAIRING_REFUSED,
    SECOND_DEVICE,
    TOKEN_REFUSED,
)
from tests.field_helpers import PhoneClient, audit_actions, engaged_alert, open_field_session


def run(coro):
    return asyncio.run(coro)


async def opened(tmp_path, **kw):
    session, service, store, listener = open_field_session(tmp_path, **kw)
    session.open()
    for _ in range(200):
        if service.address:
            break
        await asyncio.sleep(0.02)
    assert service.address, listener.alarms
    return session, service, store, listener


async def paired_phone(service, name="PC 4821 Ward") -> PhoneClient:
    code, _ = await service.issue_code(name, service.hooks.officer)
    phone = PhoneClient(service)
    assert await phone.pair(code) == 200
    hello = await phone.open_page()
    assert hello["type"] == "hello"
    return phone


def test_tls_only_on_the_policys_interface_and_plain_http_gets_nothing(tmp_path):
    async def scenario():
        session, service, store, _ = await opened(tmp_path)
        bound = [s.getsockname()[0] for srv in service.server.servers for s in srv.sockets]
        port = service.server.servers[0].sockets[0].getsockname()[1]
        # Plain HTTP to the TLS port: no HTTP answer of any kind, nothing served.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 10)
        writer.close()
        # Over TLS the page is there, no-store, with a policy that forbids workers.
        phone = PhoneClient(service)
        status, body, response = await phone.request("GET", "/")
        headers = dict(response.headers)
        await phone.close()
        await session.close()
        return bound, answer, status, body, headers

    bound, answer, status, body, headers = run(scenario())
    assert bound == ["127.0.0.1"], "never every interface unless the policy says 'all'"
    assert not answer.startswith(b"HTTP/") and b"<html" not in answer
    assert status == 200 and b"Pair this phone" in body
    assert headers["Cache-Control"] == "no-store"
    policy = headers["Content-Security-Policy"]
    assert "worker-src 'none'" in policy
    # No image URL of any kind (the photos are drawn from bytes, never loaded).
    assert "default-src 'none'" in policy and "img-src" not in policy


def test_wrong_expired_and_replayed_codes_are_refused_and_audited(tmp_path):
    async def scenario():
        session, service, store, _ = await opened(tmp_path)
        officer = session.officer
        phone = PhoneClient(service)
        wrong = await phone.pair("ZZZZ-ZZZZ")
        code, _ = await service.issue_code("PC 4821 Ward", officer)
        service.clock.offset += 121  # two minutes and a second later
        expired = await phone.pair(code)
        code, _ = await service.issue_code("PC 4821 Ward", officer)
        first = await phone.pair(code)
        again = PhoneClient(service)
        replayed = await again.pair(code)
        await phone.close()
        await again.close()
        await session.close()
        return wrong, expired, first, replayed, audit_actions(store)

    wrong, expired, first, replayed, audit = run(scenario())
    assert (wrong, expired, first, replayed) == (403, 403, 200, 403)
    refused = [d for _, action, d in audit if action == PAIRING_REFUSED]
    assert len(refused) == 3 and all(d["why"] == "wrong, expired or spent code" for d in refused)
    assert not any("ZZZZ" in json.dumps(d) for _, _, d in audit), "codes are never written"


def test_guessing_codes_locks_the_phone_out_then_suspends_pairing(tmp_path):
    async def scenario():
        session, service, store, listener = await opened(tmp_path)
        code, _ = await service.issue_code("PC 4821 Ward", session.officer)
        phone = PhoneClient(service)
        statuses = [await phone.pair(f"WRONG{n:03d}") for n in range(pairing_rules.PER_SOURCE)]
        right_code_now = await phone.pair(code)  # locked out: even the right code
        await phone.close()
        await session.close()
        return statuses, right_code_now, audit_actions(store), listener.alarms

    statuses, right_code_now, audit, alarms = run(scenario())
    assert statuses[:-1] == [403] * (pairing_rules.PER_SOURCE - 1) and statuses[-1] == 429
    assert right_code_now == 429
    assert [a for _, a, _ in audit].count(PAIRING_LOCKED) == 2
    assert any("locked out" in a for a in alarms), "the desk is told"


def test_guesses_from_many_addresses_void_every_code_and_suspend_pairing():
    t = [0.0]
    rules = Pairing(lambda: t[0])
    code, _ = rules.issue("PC 1 A", "PS 2 B")
    refused = []
    for n in range(pairing_rules.OVERALL):
        with pytest.raises(PairingRefused) as caught:
            rules.redeem("AAAA-AAA" + "B", f"10.0.0.{n}")
        refused.append(caught.value)
    assert refused[-1].locked and rules.suspended
    with pytest.raises(PairingRefused, match="suspended"):
        rules.redeem(code, "10.9.9.9")  # the real code is void too
    code, _ = rules.issue("PC 1 A", "PS 2 B")  # a supervisor issues a new code: pairing resumes
    assert rules.redeem(code, "10.9.9.9") == ("PC 1 A", "PS 2 B")


def test_wrong_revoked_and_post_conclusion_tokens_are_refused(tmp_path):
    async def scenario():
        session, service, store, _ = await opened(tmp_path)
        phone = await paired_phone(service)
        forged = PhoneClient(service)
        forged.token = "A" * 43
        wrong = (await forged.request("GET", "/api/me"))[0]
        revoked_phone = await paired_phone(service, "PC 9 Shah")
        shah = next(p.device for p in service.phones.values() if p.officer == "PC 9 Shah")
        await service.revoke(shah, session.officer)
        cleared = await revoked_phone.next_message()
        revoked = (await revoked_phone.request("GET", "/api/me"))[0]
        await session.conclude()
        after = (await phone.request("GET", "/api/me"))[0]
        service.clock.offset += 301  # the grace after conclusion: then nothing listens
        for _ in range(50):
            if service.server is None:
                break
            await asyncio.sleep(0.1)
        try:
            await phone.request("GET", "/api/me")
            listening = True
        except OSError:
            listening = False
        for client in (phone, forged, revoked_phone):
            await client.close()
        await session.close()
        return wrong, cleared, revoked, after, listening, audit_actions(store)

    wrong, cleared, revoked, after, listening, audit = run(scenario())
    assert wrong == 401 and revoked == 401 and after == 410
    assert not listening
    assert [d["state"] for _, a, d in audit if a == "field service"] == ["listening", "stopped"]
    assert cleared["type"] == "clear" and "revoked" in cleared["why"]
    assert [d["why"] for _, a, d in audit if a == TOKEN_REFUSED] == [
        "unknown or ended token", "unknown or ended token"]


def test_cross_origin_oversized_malformed_and_traversal_requests_are_refused(tmp_path):
    async def scenario():
        session, service, store, _ = await opened(tmp_path)
        code, _ = await service.issue_code("PC 4821 Ward", session.officer)
        phone = PhoneClient(service)
        results = {
            "evil origin": (await phone.request("POST", "/api/pair", {"code": code},
                                                headers={"Origin": "https://evil.example"}))[0],
            "cross-site": (await phone.request("POST", "/api/pair", {"code": code},
                                               headers={"Sec-Fetch-Site": "cross-site"}))[0],
            "no origin on a POST": (await phone.request(
                "POST", "/api/pair", {"code": code},
                headers={"Origin": "", "Sec-Fetch-Site": ""}))[0],
            "wrong host": (await phone.request("GET", "/", headers={"Host": "evil.example"}))[0],
            "oversized": (await phone.request("POST", "/api/pair",
                                              raw=json.dumps({"code": "A" * 20000})))[0],
            "malformed": (await phone.request("POST", "/api/pair", raw='{"code": '))[0],
            "not JSON": (await phone.request("POST", "/api/pair", raw="code=ABCD",
                                             headers={"Content-Type": "text/plain"}))[0],
            "not an object": (await phone.request("POST", "/api/pair", raw="[1, 2]"))[0],
        }
        leaks = []
        for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../console.db",
                     "/page/../service.py", "/api/incidents/..%2f..%2fetc/images/passwd",
                     "//etc/passwd", "/static/../../audit.key"):
            status, body, _ = await phone.request("GET", path)
            results[path] = status
            if b"root:" in body or b"SQLite" in body or b"import" in body:
                leaks.append(path)
        # The code refused cross-origin is still good for the phone's own page.
        results["own page pairs"] = await phone.pair(code)
        # A WebSocket from another origin is refused too.
        try:
            h = phone.headers({"Origin": "https://evil.example"})
            await phone.http.ws_connect(service.address.replace("https", "wss") + "/api/live",
                                        headers=h, ssl=phone.ssl)
            results["evil websocket"] = 101
        except Exception as exc:
            results["evil websocket"] = getattr(exc, "status", 0)
        await phone.close()
        await session.close()
        return results, leaks

    results, leaks = run(scenario())
    assert results["evil origin"] == results["cross-site"] == results["no origin on a POST"] == 403
    assert results["wrong host"] == 421
    assert results["oversized"] == 413 and results["malformed"] == 400
    assert results["not JSON"] == 415 and results["not an object"] == 400
    assert all(results[p] in (401, 404) for p in results if p.startswith("/")), {
        p: v for p, v in results.items() if p.startswith("/") and v != 404}
    assert leaks == []
    assert results["own page pairs"] == 200 and results["evil websocket"] == 403


def test_a_stolen_token_on_a_second_device_is_refused_and_the_desk_is_told(tmp_path):
    async def scenario():
        session, service, store, listener = await opened(tmp_path)
        phone = await paired_phone(service)
        await phone.heartbeat()
        thief = PhoneClient(service)
        thief.token = phone.token  # copied from the phone
        refused = await thief.open_page()
        no_page = (await thief.request("GET", "/api/me"))[0], (
            await thief.request("POST", "/api/incidents/x/step",
                                {"step": "going", "request": "0123456789"}))[0]
        still = phone.ws is not None and not phone.ws.closed
        for client in (phone, thief):
            await client.close()
        await session.close()
        return refused, no_page, still, listener.alarms, audit_actions(store)

    refused, no_page, still, alarms, audit = run(scenario())
    assert refused["type"] == "refused" and "another device" in refused["why"]
    assert no_page == (200, 409), "the token alone is not the phone's open page"
    assert still, "the officer's own phone stays connected"
    assert any("second device" in a for a in alarms)
    assert [a for _, a, _ in audit].count(SECOND_DEVICE) == 1


def test_a_slow_loris_client_is_cut_off_and_the_service_keeps_serving(tmp_path, monkeypatch):
    monkeypatch.setattr(field_server, "HEAD_TIMEOUT_S", 1.0)

    async def scenario():
        session, service, store, _ = await opened(tmp_path)
        port = service.server.servers[0].sockets[0].getsockname()[1]
        context = ssl.create_default_context(cafile=str(service.server.certificate.cert_path))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        started = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
        await writer.drain()
        cut_after = None
        phone = PhoneClient(service)
        served = None
        for _ in range(40):  # a header line every 0.25 s, never the blank line
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                if served is None:
                    served = (await phone.request("GET", "/app.css"))[0]
                if await asyncio.wait_for(reader.read(1), 0.25) == b"":
                    cut_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                cut_after = time.monotonic() - started
                break
        writer.close()
        await phone.close()
        await session.close()
        return cut_after, served

    cut_after, served = run(scenario())
    assert cut_after is not None and cut_after < 5, cut_after
    assert served == 200


def test_an_outcome_sent_again_after_a_lost_reply_is_recorded_exactly_once(tmp_path):
    async def scenario():
        session, service, store, listener = await opened(tmp_path)
        phone = await paired_phone(service)
        alert = engaged_alert(None)
        session._on_alert(AlertEvent(alert, True))
        await session.record.drain()  # the alert is on disk, as it is long before a decision
        await session.decide_incident([alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
        incident = await phone.next_message()
        steps = []
        for step in ("seen", "going", "located"):
            steps.append((await phone.request("POST", f"/api/incidents/{incident['id']}/step",
                                              {"step": step, "request": f"req-{step}-01"}))[0])
        body = {"outcome": "arrested", "note": "", "request": "outcome-0001"}
        path = f"/api/incidents/{incident['id']}/outcome"
        # The network drops after the request left: the phone never reads the reply.
        port = service.server.servers[0].sockets[0].getsockname()[1]
        context = ssl.create_default_context(cafile=str(service.server.certificate.cert_path))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        data = json.dumps(body).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in phone.headers().items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
                     f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                     .encode() + data)
        await writer.drain()
        writer.transport.abort()
        await asyncio.sleep(0.5)
        again = await phone.request("POST", path, body)  # the page sends it again
        third = await phone.request("POST", path, body)
        other = await phone.request("POST", path, {**body, "request": "outcome-0002"})
        outcome = store.alerts.outcome_for(alert.alert_id)
        await phone.close()
        await session.close()
        audit = [(e.actor, e.action, e.details) for e in store.audit.entries()]
        return steps, again, third, other, outcome, audit, listener.outcomes

    steps, again, third, other, outcome, audit, outcomes = run(scenario())
    assert steps == [200, 200, 200]
    assert again[0] == third[0] == 200 and json.loads(again[1]) == json.loads(third[1])
    assert other[0] == 409, "a second outcome is refused"
    assert outcome.outcome.value == "arrested" and outcome.officer == "PC 4821 Ward"
    recorded = [d for _, a, d in audit if a == "outcome recorded"]
    assert len(recorded) == 1
    assert recorded[0]["recorded_on"] == "on the ground: PC 4821 Ward (phone " + (
        recorded[0]["recorded_on"].split("(phone ")[1])
    assert len(outcomes) == 1


def test_photos_follow_the_text_as_binary_frames_and_a_binary_frame_from_a_page_is_refused(
    tmp_path
):
    async def scenario():
        session, service, store, listener = await opened(tmp_path)
        phone = await paired_phone(service)
        alert = engaged_alert(None)
        session._on_alert(AlertEvent(alert, True))
        await session.record.drain()
        await session.decide_incident([alert.alert_id], Decision.ENGAGE, "", alert.alert_id)
        text = await phone.next_message()
        before_text = list(phone.photos)
        first = await phone.photos_of(text["id"], text["images"])
        sent = dict(service.dispatches[text["id"]].images)
        device = next(iter(service.phones))
        # "Seen" over the page's own connection: the same rules as over HTTPS, recorded
        # once per request id; another incident does not exist for this phone.
        replies = []
        for message in ({"type": "step", "id": text["id"], "step": "seen",
                         "viewed": ["live", "clothing"], "request": "seen-0001"},
                        {"type": "step", "id": text["id"], "step": "seen",
                         "viewed": ["live", "clothing"], "request": "seen-0001"},
                        {"type": "step", "id": "north-other-1", "step": "seen",
                         "request": "seen-0002"},
                        {"type": "step", "id": text["id"], "step": "arrested",
                         "request": "seen-0003"},
                        {"type": "step", "id": text["id"], "step": "seen", "request": 7}):
            await phone.ws.send_str(json.dumps(message))
            replies.append(await phone.next_message())

        async def reopened() -> dict:
            await phone.ws.close()
            for _ in range(200):
                if service.present() is None:
                    break
                await asyncio.sleep(0.02)
            phone.photos.clear()
            assert (await phone.open_page())["type"] == "hello"
            again = await phone.next_message()
            assert again["type"] == "incident" and again["id"] == text["id"]
            return await phone.photos_of(text["id"], text["images"])

        # The page goes away and comes back: the incident comes again, photos and all.
        after_reconnect = await reopened()
        # A binary frame from the page: refused, audited, its connection closed; the
        # phone's pairing is untouched and a new page is sent everything again.
        await phone.ws.send_bytes(b"\x00\x02{}\xff\xd8 not a page message")
        refused = await phone.next_message()
        still_paired = service.phones[device].ended is False
        after_refusal = await reopened()
        await phone.close()
        await session.close()
        return (text, before_text, first, sent, after_reconnect, refused, still_paired,
                after_refusal, audit_actions(store), replies)

    (text, before_text, first, sent, after_reconnect, refused, still_paired, after_refusal,
     audit, replies) = run(scenario())
    assert replies[0] == replies[1] == {"type": "reply", "request": "seen-0001", "ok": True,
                                        "step": "seen"}
    assert [(r["request"], r.get("status")) for r in replies[2:]] == [
        ("seen-0002", 404), ("seen-0003", 400), ("", 400)]
    seen = [d for _, a, d in audit if a == "field step" and d["step"] == "seen"]
    assert len(seen) == 1 and seen[0]["images_viewed"] == ["live", "clothing"]
    assert text["type"] == "incident" and before_text == [], "the text comes first"
    assert text["images"] == ["live", "clothing"], "it names the photos that follow"
    assert len(json.dumps(text)) < 2000, "no photo travels in the text"
    assert first == sent and all(j.startswith(b"\xff\xd8") for j in first.values())
    assert after_reconnect == sent and after_refusal == sent
    assert refused == {"type": "socket CLOSE", "code": 1003}
    assert still_paired
    refusals = [d for _, a, d in audit if a == MESSAGE_REFUSED]
    assert len(refusals) == 1 and refusals[0]["why"] == "a binary frame from the page"
    again = [d for _, a, d in audit if a == "field images delivered again"]
    assert len(again) == 2 and all(d["images"] == ["clothing", "live"] for d in again)
