// The ground officer's page. Everything it shows lives in this page's memory only: an
// incident's text comes over the page's WebSocket, its photos right after it as binary
// frames, each decoded straight from the frame's bytes into a canvas (no URL is ever made
// for a photo: nothing could load, open or keep one), wiped when the incident closes or
// the page is cleared. No service worker, no storage API (the server's
// Content-Security-Policy forbids workers and every image URL; nothing here touches
// localStorage).
"use strict";

const state = {
  page: "",            // this open page's id (the server checks it on every request)
  officer: "",
  heartbeatS: 5,
  socket: null,
  timer: null,
  retry: 0,
  cleared: false,
  incidents: new Map(),  // id -> {data, el, photos, pending, ...}
  clock: null,           // one timer for every card's "seen ... ago"
};

const $ = (id) => document.getElementById(id);

function show(section) {
  for (const id of ["pairing", "waiting", "cleared"]) $(id).hidden = id !== section;
}

function status(text, on) {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + (on ? "on" : "off");
}

function requestId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(path, body) {
  const headers = { "X-Field-Page": state.page };
  const options = { method: body ? "POST" : "GET", headers, cache: "no-store",
                    credentials: "same-origin" };
  if (body) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401 || response.status === 410) {
    const why = (await response.json().catch(() => ({}))).error || "pairing ended";
    clearAll(why);
    throw new Error(why);
  }
  return response;
}

// -- pairing -----------------------------------------------------------------------
async function pair(event) {
  event.preventDefault();
  $("pair-error").textContent = "";
  const code = $("code").value;
  try {
    const response = await fetch("/api/pair", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }), credentials: "same-origin", cache: "no-store",
    });
    const reply = await response.json();
    if (!response.ok) {
      $("pair-error").textContent = reply.error || "Refused.";
      return;
    }
    history.replaceState(null, "", "/");  // the spent code leaves the address bar
    $("code").value = "";
    start();
  } catch (e) {
    $("pair-error").textContent = "No connection to the desk: try again.";
  }
}

// -- presence ----------------------------------------------------------------------
async function start() {
  let response;
  try {
    response = await fetch("/api/me", { cache: "no-store", credentials: "same-origin" });
  } catch (e) {
    status("No connection to the desk: retrying…", false);
    setTimeout(start, 3000);
    return;
  }
  if (response.status === 410) {
    clearAll((await response.json()).error);
    return;
  }
  if (!response.ok) {
    status("Not paired", false);
    show("pairing");
    const match = location.hash.match(/pair=([A-Za-z0-9-]+)/);
    if (match) $("code").value = match[1];
    return;
  }
  connect();
}

function connect() {
  if (state.cleared) return;
  const socket = new WebSocket(`wss://${location.host}/api/live`);
  state.socket = socket;
  socket.binaryType = "arraybuffer";  // photos: bytes in this page's memory, nothing else
  socket.onmessage = (event) => {
    if (typeof event.data === "string") receive(JSON.parse(event.data));
    else receivePhoto(event.data);
  };
  socket.onclose = () => {
    clearInterval(state.timer);
    if (state.cleared || state.socket !== socket) return;
    status("Connection lost: reconnecting…", false);
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(start, 1000 * state.retry);
  };
}

function receive(message) {
  if (message.type === "hello") {
    state.page = message.page;
    state.officer = message.officer;
    state.heartbeatS = message.heartbeat_s;
    state.retry = 0;
    status(`Checked in: ${message.officer}`, true);
    show(state.incidents.size ? null : "waiting");
    clearInterval(state.timer);
    state.timer = setInterval(() => {
      if (state.socket && state.socket.readyState === WebSocket.OPEN) {
        state.socket.send(JSON.stringify({ type: "heartbeat" }));
      }
    }, state.heartbeatS * 1000);
    for (const item of state.incidents.values()) resend(item);
  } else if (message.type === "incident") {
    showIncident(message);
  } else if (message.type === "reply") {
    replied(message);
  } else if (message.type === "closed") {
    closeIncident(message.id, message.words);
  } else if (message.type === "clear") {
    clearAll(message.why);
    if (state.socket) state.socket.send(JSON.stringify({ type: "cleared" }));
  } else if (message.type === "refused") {
    state.cleared = true;
    status(message.why, false);
  }
}

// -- incidents ---------------------------------------------------------------------
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s ago` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s ago`;
}

function showIncident(data) {
  if (state.incidents.has(data.id)) return;
  show(null);
  const card = el("article", { class: "card" + (data.risk ? " risk" : ""), id: `incident-${data.id}` });
  if (data.risk) card.append(el("div", { class: "risk-flag" }, "⚠ RISK OF HARM: approach with care"));
  card.append(el("p", { class: "name" }, data.name));
  card.append(el("p", { class: "category" }, data.category));
  const photos = el("div", { class: "photos" });
  const item = { data, el: card, pending: null, received: performance.now(),
                 photos: new Map() };  // kind -> {canvas, done}: a photo still to come
  // Its text is on the page (User Timing, for the bench: nothing leaves the page).
  performance.mark(`received ${data.id}`);
  for (const [kind, caption] of [["watchlist", "Watchlist photo"], ["live", "Camera, best face"]]) {
    const fig = el("figure");
    fig.append(photo(kind, caption), el("figcaption", {}, caption));
    photos.append(fig);
  }
  // What to look for and where first, then the photos, the buttons, and the clothing.
  const facts = el("p", { class: "facts" });
  const when = el("span", { class: "ago" });
  facts.append(el("b", {}, "Seen "), when, document.createTextNode(` · ${data.camera} camera`));
  if (data.side) facts.append(document.createElement("br"), document.createTextNode(data.side));
  if (data.direction) facts.append(document.createElement("br"), el("b", {}, "Direction: "),
                                   document.createTextNode(data.direction));
  card.append(facts, photos);
  const progress = el("p", { class: "progress" });
  const actions = el("div", { class: "actions" });
  card.append(progress, actions);
  const clothing = el("figure", { class: "clothing" });
  clothing.append(photo("clothing", "Clothing, from the camera"));
  clothing.append(el("figcaption", {}, `Clothing · ${data.camera} camera` +
                     (data.side ? ` · ${data.side}` : "")));
  card.append(clothing);
  item.when = when;
  item.progress = progress;
  item.actions = actions;
  state.incidents.set(data.id, item);
  $("incidents").prepend(card);
  tick(item);
  if (!state.clock) state.clock = setInterval(tickAll, 1000);
  const shown = awaitPhotos(item);
  if (data.step === "sent") {
    progress.textContent = "Loading the photos…";
    shown.then((viewed) => {
      if (!state.incidents.has(data.id)) return;
      // Seen once every photo it was sent is on the screen: the desk sees it at once.
      // How long this phone took to show it, from the text's arrival (for the bench).
      const shownMs = Math.round(performance.now() - item.received);
      // The frame that paints them, on the page's clock (User Timing, for the bench:
      // nothing leaves the page).
      requestAnimationFrame(() => performance.mark(`shown ${data.id}`));
      send(item, `/api/incidents/${data.id}/step`, { step: "seen", viewed, shown_ms: shownMs },
           () => render(item, "seen"), true);
    });
  } else {
    render(item, data.step);
  }
}

function tick(item) {
  const elapsed = (performance.now() - item.received) / 1000;
  item.when.textContent = ago(item.data.seconds_ago + elapsed);
}

// Every card's clock in one timer: one repaint a second, however many cards are open.
function tickAll() {
  for (const item of state.incidents.values()) tick(item);
}

// Where a photo goes: a canvas the page draws the decoded bytes into, named for a reader.
function photo(kind, caption) {
  return el("canvas", { role: "img", "aria-label": caption, "data-kind": kind,
                        width: "0", height: "0" });
}

// A photo the card will not show (not sent, or not a picture) says so in its place.
function noPicture(canvas) {
  canvas.replaceWith(el("p", { class: "quiet" }, "No picture"));
  return null;
}

// The photos the incident's text names follow it as binary frames: resolves with the
// kinds on the screen once each has loaded (or failed to). A kind not sent says so.
function awaitPhotos(item) {
  const sent = new Set(Array.isArray(item.data.images) ? item.data.images : []);
  return Promise.all(Array.from(item.el.querySelectorAll("canvas[data-kind]"), (canvas) => {
    const kind = canvas.dataset.kind;
    if (!sent.has(kind)) return noPicture(canvas);
    return new Promise((done) => item.photos.set(kind, { canvas, done }));
  })).then((kinds) => kinds.filter(Boolean));
}

// A photo frame: a 2-byte header length, a JSON header {id, kind}, then the JPEG. It is
// decoded in this page's memory and handed to its canvas whole (no base64, no URL, no
// image element: a loaded <img> costs each phone a round trip through the browser for
// every photo, measurably slower when photos arrive); one for an incident this page does
// not hold open, or a kind already shown, is dropped.
async function receivePhoto(buffer) {
  let header, jpeg;
  try {
    const length = new DataView(buffer).getUint16(0);
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 2, length)));
    jpeg = new Uint8Array(buffer, 2 + length);
  } catch (e) {
    return;
  }
  const item = header && state.incidents.get(header.id);
  const waiting = item && item.photos.get(header.kind);
  if (!waiting) return;
  item.photos.delete(header.kind);
  const { canvas, done } = waiting;
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
  } catch (e) {
    return done(noPicture(canvas));  // not a picture
  }
  if (state.incidents.get(header.id) !== item) {  // closed or cleared while it decoded
    bitmap.close();
    return done(null);
  }
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("bitmaprenderer").transferFromImageBitmap(bitmap);
  done(header.kind);
}

function button(text, onclick, alt = false) {
  const b = el("button", { class: "big" + (alt ? " alt" : ""), type: "button" }, text);
  b.addEventListener("click", onclick);
  return b;
}

const OUTCOMES = [["arrested", "Arrested"], ["advice", "Conditions checked or advice"],
                  ["confirmed_false", "Not the person (false alert)"]];

function render(item, step) {
  const { actions, progress } = item;
  actions.replaceChildren();
  const id = item.data.id;
  const stepTo = (next) => () => send(item, `/api/incidents/${id}/step`, { step: next },
                                      () => render(item, next));
  if (step === "seen") {
    progress.textContent = "";
    actions.append(button("Going", stepTo("going")));
  } else if (step === "going") {
    progress.textContent = "Going";
    actions.append(button("Located", stepTo("located")),
                   button("Not located", stepTo("not located"), true));
  } else if (step === "located" || step === "not located") {
    progress.textContent = step === "located" ? "Located: record the outcome" : "Not located";
    const note = el("textarea", { placeholder: "Note (optional)", "aria-label": "Note", maxlength: "500" });
    const choices = step === "located" ? OUTCOMES : [["not_located", "Record: not located"]];
    for (const [value, words] of choices) {
      actions.append(button(words, () => send(item, `/api/incidents/${id}/outcome`,
                                              { outcome: value, note: note.value },
                                              (reply) => done(item, reply.recorded))));
    }
    actions.append(note);
  }
}

function done(item, words) {
  item.actions.replaceChildren(el("p", { class: "done" }, `Recorded: ${words}`));
  item.progress.textContent = "";
}

// A request is sent again until the desk answers: a phone that loses its network between
// the tap and the reply sends the same request id, which the desk records once. "Seen"
// (*bySocket*) goes over the page's own connection while it is open: no HTTPS connection
// to open first, so the desk hears it at once; otherwise, like every other step, over HTTPS.
function send(item, path, body, onDone, bySocket = false) {
  const request = { path, body: { ...body, request: requestId() }, onDone, bySocket };
  item.pending = request;
  for (const b of item.actions.querySelectorAll("button")) b.disabled = true;
  attempt(item, request);
}

async function attempt(item, request) {
  if (!state.incidents.has(item.data.id) || item.pending !== request) return;
  clearTimeout(request.timer);
  const socket = state.socket;
  if (request.bySocket && socket && socket.readyState === WebSocket.OPEN && state.page) {
    socket.send(JSON.stringify({ type: "step", id: item.data.id, ...request.body }));
    request.timer = setTimeout(() => attempt(item, request), 3000);  // no reply: again
    return;
  }
  try {
    const response = await api(request.path, request.body);
    if (!settle(item, request, response.status, await response.json())) {
      throw new Error("not recorded yet");
    }
  } catch (e) {
    retry(item, request);
  }
}

// The desk's answer to a request (over HTTPS, or a reply on the page's connection): false
// when it is worth sending again.
function settle(item, request, status, reply) {
  if (status === 200) {
    if (item.pending === request) item.pending = null;
    request.onDone(reply);
    return true;
  }
  if (status >= 500 || status === 409 && /open page/.test(reply.error)) return false;
  item.pending = null;
  item.progress.textContent = reply.error || "Refused";
  for (const b of item.actions.querySelectorAll("button")) b.disabled = false;
  return true;
}

function retry(item, request) {
  if (state.cleared || item.pending !== request) return;
  item.progress.innerHTML = "";
  item.progress.append(el("span", { class: "pending" }, "Not sent yet: retrying…"));
  clearTimeout(request.timer);
  request.timer = setTimeout(() => attempt(item, request), 2000);
}

function replied(message) {
  for (const item of state.incidents.values()) {
    const request = item.pending;
    if (!request || request.body.request !== message.request) continue;
    clearTimeout(request.timer);
    if (!settle(item, request, message.error ? message.status : 200, message)) {
      retry(item, request);
    }
  }
}

function resend(item) {
  if (item.pending) attempt(item, item.pending);
}

// Its photos wiped at once: the canvas lets go of its bitmap (resizing alone keeps it).
function forget(item) {
  item.photos.clear();
  for (const canvas of item.el.querySelectorAll("canvas")) {
    if (canvas.width) canvas.getContext("bitmaprenderer").transferFromImageBitmap(null);
    canvas.width = canvas.height = 0;
  }
}

function closeIncident(id, words) {
  const item = state.incidents.get(id);
  if (!item) return;
  forget(item);
  item.el.replaceChildren(el("p", { class: "name" }, item.data.name),
                          el("p", { class: "done" }, words));
  state.incidents.delete(id);
  setTimeout(() => { item.el.remove(); if (!state.incidents.size) show("waiting"); }, 15000);
}

function clearAll(why) {
  state.cleared = true;
  clearInterval(state.timer);
  clearInterval(state.clock);
  state.clock = null;
  performance.clearMarks();  // the bench's marks name incidents: none stays
  for (const item of state.incidents.values()) forget(item);
  state.incidents.clear();
  $("incidents").replaceChildren();
  state.page = "";
  status("Cleared", false);
  $("cleared-why").textContent = why || "";
  show("cleared");
}

document.addEventListener("DOMContentLoaded", () => {
  $("pair-form").addEventListener("submit", pair);
  start();
});
