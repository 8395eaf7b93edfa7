// The agent desktop (the phone bar): the live protocol (icm/live_stream.js) — one WebSocket
// brings a snapshot, then the agent's own events, numbered; a missing frame, a reconnect or
// a reset brings a fresh snapshot. Commands go back over the socket; icm acts on the switch.
"use strict";

const STATE_LABELS = {logged_out: "Signed out", ready: "Ready", not_ready: "Not ready",
  reserved: "Ringing", on_call: "On call", wrap_up: "Wrap-up"};
let snap = null;          // the state: the last snapshot with the events applied on it
let calls = new Map();    // its calls by uuid
let nextId = 1;
const pending = new Map();
let stopped = false;
let lastOffer = null;     // the screen pop of the contact being handled (kept during the call)
const TAB = sessionStorage.getItem("ipbx-tab") || Math.random().toString(36).slice(2);
sessionStorage.setItem("ipbx-tab", TAB);

const $ = (id) => document.getElementById(id);

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

function toast(text, ok = false) {
  const t = $("toast");
  t.textContent = text;
  t.className = ok ? "ok" : "";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ""; }, 5000);
}

function clock(sinceSeconds) {
  const s = Math.max(0, Math.floor(Date.now() / 1000 - sinceSeconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// --- snapshot and events (the protocol and the state: icm/static/icm/live_stream.js) ----
const stream = new ipbxLive.LiveStream({
  path: "/ws/agent/",
  view: "desktop",
  query: () => `?tab=${TAB}${takeoverNext ? "&takeover=1" : ""}`,
  onSnapshot: applySnapshot,
  onEvent: onEvent,
  onMessage: onMessage,
  onClose: (e) => {
    $("link").dataset.up = "0";
    if (stopped || e.code === 4409 || e.code === 4410) return true;
    if (e.code === 4401 || e.code === 4403) { location.reload(); return true; }
    $("link").textContent = "reconnecting…";
    return false;
  },
});

function applySnapshot(body) {
  snap = body;
  calls = new Map(snap.calls.map((c) => [c.call_uuid, c]));
  if ($("reason").options.length === 1) {
    snap.reasons.forEach((r) => $("reason").add(new Option(r.label, r.code)));
  }
  if ($("disposition").options.length === 1) {
    snap.dispositions.forEach((d) => $("disposition").add(new Option(d.label, d.code)));
  }
  render();
  if (!stopped && stream.open) {
    $("link").textContent = "live";  // only once the state is known: buttons act on it
    $("link").dataset.up = "1";
    document.body.dataset.ready = "1";
  }
}

function onEvent(event, change) {
  if (event.type === "bulletin") { renderBulletins(); return; }
  if (event.type === "voicemail") { renderVoicemail(); return; }
  calls = new Map(snap.calls.map((c) => [c.call_uuid, c]));
  if (change.refresh) refreshSoon();  // the history or my customers changed
  render();
}

function refreshSoon() {  // a fresh snapshot (what no event carries: history, call-backs …)
  clearTimeout(refreshSoon.timer);
  clearTimeout(refreshSoon.again);
  refreshSoon.timer = setTimeout(() => stream.resync(), 300);
  // and once more when icm has surely written the contact's record (it writes every 0.2 s,
  // later under load): a history row read too early lacks its talk time and end
  refreshSoon.again = setTimeout(() => stream.resync(), 2000);
}

// --- the socket -------------------------------------------------------------------------
let takeoverNext = false;

function connect(takeover = false) {
  takeoverNext = takeover;
  stream.connect();
  takeoverNext = false;  // a reconnect after a blip is the same tab coming back
}

function onMessage(event) {
  if (event.type === "reply") return settle(event);
  if (event.type === "refused") return offerTakeover(event.detail);
  if (event.type === "taken_over") {
    stopped = true;
    $("link").textContent = "signed in on another page";
  }
  return undefined;
}

function offerTakeover(detail) {
  stopped = true;
  $("link").innerHTML = `${esc(detail)} <button type="button" id="btn-takeover">Take over here</button>`;
  $("btn-takeover").addEventListener("click", () => { stopped = false; connect(true); });
}

function command(name, args = {}) {
  return new Promise((resolve) => {
    if (!snap) return resolve(null);
    const id = String(nextId++);
    if (!stream.send({id, command: name, args})) {
      toast("Not connected: try again in a moment.");
      return resolve(null);
    }
    pending.set(id, resolve);
  });
}

function settle(reply) {
  const resolve = pending.get(reply.id);
  pending.delete(reply.id);
  if (!reply.ok) toast(reply.detail);
  if (resolve) resolve(reply.ok ? reply.result : null);
}

// --- rendering --------------------------------------------------------------------------
function myLeg(call) {
  const ext = snap.agent.extension;
  if (!ext) return null;
  const phone = new RegExp(`^(user/${ext}(@|$)|sofia/internal/(sip:)?${ext}@)`);
  return call.legs.find((l) => l.state !== "ended" && phone.test(l.channel_name));
}

// Talk time runs from the bridge (the agent's own leg's, else the call's): on a real switch
// "answered" is the IVR's pick-up, long before the agent speaks.
function talkClock(call) {
  const leg = myLeg(call);
  const bridged = (leg && leg.bridged_at) || call.bridged_at;
  return bridged ? clock(Date.parse(bridged) / 1000) : "connecting";
}

function currentCall() {
  const live = [...calls.values()].filter((c) => c.state !== "ended");
  return live.find((c) => myLeg(c)) || live[0] || null;
}

function customerHtml(card, ani) {
  if (!card) return `<div class="name">Unknown caller ${esc(ani)}</div>`;
  const recent = (card.recent || []).map((r) =>
    `<li>${new Date(r.at).toLocaleString()} · ${esc(r.queue || "—")} · ${esc(r.agent || "no agent")}${r.seconds != null ? ` · ${r.seconds}s` : ""}</li>`).join("");
  return `<div class="name">${esc(card.name)}<span class="grade grade-${esc(card.grade)}">${esc(card.grade_label)}</span></div>
    <div>Account ${esc(card.account)}${card.email ? ` · ${esc(card.email)}` : ""}</div>
    ${recent ? `<ul class="recent">${recent}</ul>` : "<div class='muted'>No earlier contacts.</div>"}`;
}

function ivrHtml(data) {
  const rows = Object.entries(data || {}).filter(([k]) => k !== "flow");
  if (!rows.length) return "";
  return `<table><caption>From the IVR${data.flow ? ` (${esc(data.flow)})` : ""}</caption>${rows.map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

function campaignHtml(card) {
  if (!card) return "";
  const fields = Object.entries(card.fields || {}).filter(([k]) => k !== "name").map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td>${esc(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`).join("");
  const earlier = (card.history || []).map((h) => `<li>${new Date(h.at).toLocaleString()} · ${esc(h.result)}${h.agent ? ` · ${esc(h.agent)}` : ""}${h.disposition ? ` · ${esc(h.disposition)}` : ""}${h.notes ? ` — ${esc(h.notes)}` : ""}</li>`).join("");
  return `<div class="campaign-card"><div class="name">${esc(card.name || card.number)}</div>
    <div>Campaign <b>${esc(card.campaign)}</b> · attempt ${esc(card.attempt)} of ${esc(card.max_attempts)}${card.callback ? " · <span class='tag'>call-back booked</span>" : ""}</div>
    ${fields ? `<table class="fields">${fields}</table>` : ""}
    ${earlier ? `<ul class="recent">${earlier}</ul>` : "<div class='muted'>First attempt.</div>"}</div>`;
}

function render() {
  if (!snap) return;
  const state = snap.state.state;
  $("state").dataset.state = state;
  const previewing = state === "reserved" && snap.state.offer && snap.state.offer.media === "preview";
  $("state-label").textContent = (previewing ? "Preview" : STATE_LABELS[state]) + (snap.state.reason ? ` · ${snap.state.reason}` : "");
  $("btn-ready").disabled = !["not_ready", "logged_out", "wrap_up"].includes(state);
  $("btn-not-ready").disabled = !["ready", "logged_out", "wrap_up"].includes(state);
  const shown = state === "reserved" ? snap.state.offer : null;
  const preview = shown && shown.media === "preview" ? shown : null;
  const offer = preview ? null : shown;
  $("preview").hidden = !preview;
  if (preview) {
    lastOffer = preview;
    $("preview-number").textContent = preview.ani;
    $("preview-queue").textContent = preview.queue ? `for ${preview.queue}` : "";
    $("preview-card").innerHTML = campaignHtml(preview.campaign_card)
      + (preview.customer_card ? customerHtml(preview.customer_card, preview.ani) : "");
  }
  $("offer").hidden = !offer;
  if (offer) lastOffer = offer;
  if (offer) {
    $("offer-campaign").innerHTML = campaignHtml(offer.campaign_card);
    $("offer-ani").textContent = offer.ani || "unknown number";
    $("offer-queue").textContent = offer.queue ? `for ${offer.queue}` : "";
    $("offer-arrived").textContent = {ivr: "from the IVR", direct: "direct", callback: "call-back",
      transferred: "transferred", consult: "consultation", preview: "you are calling"}[offer.arrived] || offer.arrived;
    $("offer-customer").innerHTML = offer.campaign_card && !offer.customer_card ? ""
      : customerHtml(offer.customer_card, offer.ani);
    $("offer-note").hidden = !(offer.transferred_by || offer.note);
    const by = offer.arrived === "consult" ? "Consultation from" : "Transferred by";
    $("offer-note").textContent = offer.transferred_by
      ? `${by} ${offer.transferred_by}${offer.note ? `: ${offer.note}` : ""}` : offer.note;
    $("offer-ivr").innerHTML = ivrHtml(offer.ivr);
    const heard = $("offer-voicemail").dataset.id;
    if (heard !== String(offer.voicemail ? offer.voicemail.id : "")) {  // keep a playing player
      $("offer-voicemail").innerHTML = voicemailHtml(offer.voicemail);
      $("offer-voicemail").dataset.id = offer.voicemail ? offer.voicemail.id : "";
    }
  }
  const call = currentCall();
  const talking = state === "on_call" && call;
  // the campaign contact being handled (kept from its screen pop through call and wrap-up)
  const handled = lastOffer && lastOffer.contact === snap.state.contact ? lastOffer.campaign_card : null;
  $("incall").hidden = !talking;
  if (!talking && $("btn-mute").dataset.muted) {  // a new call starts unmuted
    $("btn-mute").dataset.muted = "";
    $("btn-mute").textContent = "Mute";
    $("btn-mute").classList.remove("danger");
  }
  const recording = talking ? (snap.state.recording || "") : "";
  $("rec-state").hidden = !recording;
  $("rec-state").textContent = recording === "paused" ? "Recording paused" : "● REC";
  $("rec-state").dataset.state = recording;
  $("btn-record").textContent = recording ? "Stop recording" : "Record";
  $("btn-record-pause").hidden = !recording;
  $("btn-record-pause").textContent = recording === "paused" ? "Resume recording" : "Pause recording";
  if (talking) {
    const mine = myLeg(call);
    const held = mine ? mine.held : call.state === "held";
    $("incall-label").textContent = held ? "On hold" : "On call";
    $("incall-ani").textContent = call.ani;
    $("btn-hold").textContent = held ? "Resume" : "Hold";
    $("btn-hold").dataset.held = held ? "1" : "";
    const card = lastOffer && lastOffer.ani === call.ani ? lastOffer.customer_card : null;
    $("incall-campaign").innerHTML = campaignHtml(handled);
    $("incall-customer").innerHTML = handled && !card ? "" : customerHtml(card, call.ani);
  }
  $("wrap-callback").hidden = !(state === "wrap_up" && handled);
  $("wrap-callback-last").hidden = !(handled && handled.last_attempt);
  $("wrap-callback-at").disabled = !!(handled && handled.last_attempt);
  renderConsult(talking ? snap.state.consult : null);
  $("wrapup").hidden = state !== "wrap_up";
  $("idle").hidden = !!shown || !!talking || state === "wrap_up";
  renderQueues();
  renderHistory();
  renderCallbacks();
  renderCustomers();
  renderBulletins();
  renderVoicemail();
  (window.ipbxDesktopRenderers || []).forEach((extra) => extra(snap));  // colleagues.js …
}

// IVR-7: the agent's mailbox — new-message count (live: `voicemail` events) and players
function renderVoicemail() {
  const box = snap.voicemail || {new: 0, messages: []};
  $("voicemail-new").textContent = box.new;
  $("voicemail").dataset.waiting = box.new ? "1" : "0";
  $("voicemail-list").innerHTML = (box.messages || []).map((m) => `<li data-id="${esc(m.id)}">
    ${esc(m.caller_name || m.caller_number || "unknown")} · ${new Date(m.received_at).toLocaleTimeString()}
    · ${Math.round(m.duration)} s <audio controls preload="none" src="${esc(m.audio)}"></audio></li>`).join("");
}

function voicemailHtml(message) {  // a queue's message that became this call-back
  if (!message) return "";
  return `<div class="voicemail-message">Voicemail from ${esc(message.caller_number || "unknown")}
    (${Math.round(message.duration)} s): <audio controls preload="none" src="${esc(message.audio)}"></audio></div>`;
}

function renderBulletins() {
  const box = $("bulletins");
  box.innerHTML = (snap.bulletins || []).map((b) => `<div class="bulletin ${esc(b.priority)}"
    data-id="${esc(b.id)}"><b>${esc(b.from)}</b> <time>${new Date(b.at).toLocaleTimeString()}</time>
    <span class="text">${esc(b.text)}</span><button type="button" class="read">Got it</button></div>`).join("");
  box.querySelectorAll(".bulletin button.read").forEach((button) => button.addEventListener("click", async () => {
    const id = Number(button.closest(".bulletin").dataset.id);
    if (await command("read_bulletin", {id})) {
      snap.bulletins = snap.bulletins.filter((b) => b.id !== id);
      renderBulletins();
    }
  }));
}

function renderCustomers() {
  $("customers").querySelector("tbody").innerHTML = (snap.customers || []).map((c) => `<tr>
    <td>${esc(c.name || "Unknown caller")}${c.grade ? `<span class="grade grade-${esc(c.grade)}">${esc(c.grade)}</span>` : ""}</td>
    <td>${esc(c.account)}</td><td>${esc(c.ani)}</td><td>${esc(c.queue)}</td>
    <td class="state-${esc(c.state)}">${esc(c.state)}</td><td>${c.waited != null ? `${Math.round(c.waited)}s` : ""}</td>
    <td>${c.talk != null ? `${c.talk}s` : ""}</td><td>${esc(c.calls)}</td></tr>`).join("");
}

function renderCallbacks() {
  const body = $("callbacks").querySelector("tbody");
  body.innerHTML = (snap.callbacks || []).map((c) => `<tr data-callback="${esc(c.id)}">
    <td>${new Date(c.due_at).toLocaleString()}</td><td>${esc(c.number)}</td>
    <td>${esc(c.customer ? c.customer.name : "")}</td><td>${esc(c.note)}</td>
    <td class="callback-outcome status-${esc(c.status)}">${esc(c.outcome || c.status)}</td>
    <td>${c.status === "pending" ? `<button type="button" class="cancel-callback" data-id="${esc(c.id)}">Cancel</button>` : ""}</td></tr>`).join("");
  body.querySelectorAll(".cancel-callback").forEach((b) => b.addEventListener("click", async () => {
    if (await command("cancel_callback", {id: b.dataset.id})) { toast("Call-back cancelled.", true); refreshSoon(); }
  }));
}

const CONSULT_LABELS = {ringing: "Ringing", talking: "Consulting", conference: "Conference"};

function renderConsult(consult) {
  const mine = consult && consult.role === "consulting";
  $("consult").hidden = !consult;
  $("transfer").hidden = !!consult;
  $("btn-hangup").textContent = consult && consult.state === "conference" ? "Leave" : "Hang up";
  $("btn-hangup").hidden = false;
  if (!consult) return;
  $("consult").dataset.state = consult.state;
  $("consult-label").textContent = consult.role === "consulted"
    ? (consult.state === "conference" ? "Conference" : "Consultation from")
    : CONSULT_LABELS[consult.state] || consult.state;
  $("consult-target").textContent = consult.role === "consulted" ? consult.by : consult.target;
  $("btn-consult-complete").hidden = !mine || consult.state === "conference";
  $("btn-conference").hidden = !mine || consult.state !== "talking";
  $("btn-consult-cancel").hidden = !mine || consult.state === "conference";
  // while consulting, "Back to customer" ends the consultation; hanging up is for later
  $("btn-hangup").hidden = mine && consult.state !== "conference";
}

function renderQueues() {
  const body = $("queues").querySelector("tbody");
  body.innerHTML = snap.queues.map((q) => `<tr data-queue="${esc(q.name)}"
    class="${q.waiting ? "busy" : ""}"><td>${esc(q.display_name || q.name)}</td><td>${q.waiting ?? "—"}</td>
    <td>${q.longest_wait != null ? clock(Date.now() / 1000 - q.longest_wait) : "—"}</td>
    <td>${q.agents_ready ?? "—"}</td></tr>` + (q.callers || []).map((c) => `<tr class="caller"
    data-contact="${esc(c.contact)}"><td>${esc(c.ani || "unknown")}${c.priority ? ` <span class="tag">priority ${esc(c.priority)}</span>` : ""}</td>
    <td class="muted">${c.media === "callback" ? "call-back" : ""}</td><td class="waited" data-since="${esc(c.since)}">${clock(c.since)}</td>
    <td><button type="button" class="pick" data-contact="${esc(c.contact)}" title="Take this caller now">Pick</button></td></tr>`).join("")).join("");
  body.querySelectorAll(".pick").forEach((b) => b.addEventListener("click", async () => {
    if (await command("pick", {contact: b.dataset.contact})) toast("Ringing your phone for this caller.", true);
  }));
}

function renderHistory() {
  const body = $("history").querySelector("tbody");
  body.innerHTML = snap.history.map((h) => `<tr class="outcome-${esc(h.outcome)}">
    <td>${new Date(h.at).toLocaleTimeString()}</td><td>${esc(h.ani)}</td><td>${esc(h.customer)}</td>
    <td>${esc(h.queue)}</td><td class="outcome-${esc(h.outcome)}">${esc(h.outcome)}</td>
    <td>${h.seconds != null ? `${h.seconds}s` : ""}</td>
    <td>${h.ani ? `<button type="button" class="call-back" data-number="${esc(h.ani)}" title="Call back">Call</button>` : ""}</td></tr>`).join("");
  body.querySelectorAll(".call-back").forEach((b) => b.addEventListener("click", () => dial(b.dataset.number)));
}

function tick() {
  if (!snap) return;
  if (snap.state.since) $("state-timer").textContent = clock(snap.state.since);
  const call = currentCall();
  if (call) $("incall-timer").textContent = talkClock(call);
  if (snap.state.since) $("wrapup-timer").textContent = clock(snap.state.since);
  if (snap.state.consult) $("consult-timer").textContent = clock(snap.state.consult.started);
  const offer = snap.state.offer;
  const auto = offer && offer.media === "preview" && offer.attached && offer.attached.preview_seconds;
  $("preview-countdown").textContent = auto && offer.attached.shown_at
    ? `dialing by itself in ${Math.max(0, Math.ceil(offer.attached.shown_at + auto - Date.now() / 1000))} s` : "";
  document.querySelectorAll("#queues td.waited").forEach((td) => { td.textContent = clock(Number(td.dataset.since)); });
}

// --- controls ---------------------------------------------------------------------------
const actions = {
  ready: () => command(snap.state.state === "logged_out" ? "login" : (snap.state.state === "wrap_up" ? "end_wrap_up" : "ready")),
  notReady: () => command(snap.state.state === "logged_out" ? "login_not_ready" : "not_ready",
                          {reason: $("reason").value}),
  accept: () => command("accept"),
  reject: () => command("reject"),
  rejectNotReady: () => command("reject_not_ready"),
  hold: () => command($("btn-hold").dataset.held ? "unhold" : "hold"),
  hangup: () => command("hangup"),
  mute: async () => {
    const muting = !$("btn-mute").dataset.muted;
    if (await command(muting ? "mute" : "unmute")) {
      $("btn-mute").dataset.muted = muting ? "1" : "";
      $("btn-mute").textContent = muting ? "Unmute" : "Mute";
      $("btn-mute").classList.toggle("danger", muting);
    }
  },
  wrapDone: async () => {
    const args = {disposition: $("disposition").value, notes: $("notes").value};
    const at = $("wrap-callback").hidden ? "" : $("wrap-callback-at").value;
    if (at) {
      const when = new Date(at);
      if (Number.isNaN(when.getTime())) { toast("When should we call back?"); return; }
      args.callback_at = when.toISOString();
      args.callback_to = $("wrap-callback-to").value;
    }
    const done = await command("wrap_up", args);
    if (done) {
      $("notes").value = ""; $("disposition").value = ""; $("wrap-callback-at").value = "";
      if (done.callback) toast(`Call-back booked for ${new Date(done.callback.callback_at).toLocaleString()}.`, true);
    }
  },
  previewCall: async () => {
    const done = await command("preview_call");
    if (done) toast(`Calling ${done.number}: your phone rings first.`, true);
  },
  previewSkip: (notReady = false) => command("preview_skip", {not_ready: notReady}),
  wrapExtend: () => command("extend_wrap_up"),
  record: () => command(snap.state.recording ? "record_stop" : "record_start"),
  recordPause: () => command(snap.state.recording === "paused" ? "record_resume" : "record_pause"),
};

$("btn-ready").addEventListener("click", actions.ready);
$("btn-not-ready").addEventListener("click", actions.notReady);
$("btn-accept").addEventListener("click", actions.accept);
$("btn-reject").addEventListener("click", actions.reject);
$("btn-reject-nr").addEventListener("click", actions.rejectNotReady);
$("btn-hold").addEventListener("click", actions.hold);
$("btn-hangup").addEventListener("click", actions.hangup);
$("btn-mute").addEventListener("click", actions.mute);
$("btn-record").addEventListener("click", actions.record);
$("btn-record-pause").addEventListener("click", actions.recordPause);
$("btn-wrap-done").addEventListener("click", actions.wrapDone);
$("btn-preview-call").addEventListener("click", actions.previewCall);
$("btn-preview-skip").addEventListener("click", () => actions.previewSkip(false));
$("btn-preview-skip-nr").addEventListener("click", () => actions.previewSkip(true));
$("btn-wrap-extend").addEventListener("click", actions.wrapExtend);
async function dial(number) {
  const done = await command("dial", {number});
  if (done) toast(`Calling ${done.number}: your phone rings first.`, true);
}
$("dial").addEventListener("submit", (ev) => {
  ev.preventDefault();
  dial($("dial-number").value.trim());
});

$("btn-consult").addEventListener("click", async () => {
  const target = $("transfer-target").value.trim();
  const kind = $("transfer-kind").value;
  if (kind === "queue") { toast("Consult an agent, an extension or a number."); return; }
  if (!target) { toast("Whom to consult?"); return; }
  const done = await command("consult", {kind, target, note: $("transfer-note").value});
  if (done) { $("transfer-note").value = ""; toast(`Ringing ${done.target}; the customer hears music.`, true); }
});
$("btn-consult-complete").addEventListener("click", () => command("consult_complete"));
$("btn-conference").addEventListener("click", () => command("conference"));
$("btn-consult-cancel").addEventListener("click", () => command("consult_cancel"));

$("callback").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const when = new Date($("callback-at").value);
  if (Number.isNaN(when.getTime())) { toast("When should we call back?"); return; }
  const done = await command("book_callback", {number: $("callback-number").value.trim(),
    due_at: when.toISOString(), note: $("callback-note").value});
  if (done) {
    $("callback-note").value = "";
    toast(`Call-back booked for ${new Date(done.due_at).toLocaleString()}.`, true);
    refreshSoon();
  }
});

$("transfer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const done = await command("transfer", {kind: $("transfer-kind").value,
    target: $("transfer-target").value.trim(), note: $("transfer-note").value});
  if (done) { $("transfer-note").value = ""; toast(`Transferred to ${done.kind} ${done.target}.`, true); }
});
const keypad = document.querySelector(".keypad");
"123456789*0#".split("").forEach((d) => {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = d;
  b.addEventListener("click", () => command("dtmf", {digits: d}));
  keypad.appendChild(b);
});

document.addEventListener("keydown", (ev) => {
  if (ev.target.matches("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = ev.key.toLowerCase();
  const map = {r: [actions.ready, "btn-ready"], n: [actions.notReady, "btn-not-ready"],
    a: [actions.accept, "btn-accept"], h: [actions.hold, "btn-hold"], x: [actions.hangup, "btn-hangup"],
    m: [actions.mute, "btn-mute"], c: [actions.previewCall, "btn-preview-call"],
    s: [() => actions.previewSkip(false), "btn-preview-skip"],
    d: [actions.wrapDone, "btn-wrap-done"]};
  const found = map[key];
  if (!found) return;
  const button = $(found[1]);
  if (button.disabled || button.closest("[hidden]")) return;
  ev.preventDefault();
  found[0]();
});

// what the desktop's other modules (colleagues.js …) use
window.ipbxDesktop = {command, dial, toast, snapshot: () => snap};

setInterval(tick, 1000);
connect();
