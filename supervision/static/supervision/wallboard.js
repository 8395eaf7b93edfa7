// The supervisor wallboard: one WebSocket brings a snapshot, then numbered frames (wseq);
// a missing frame asks for a fresh snapshot (the live protocol: icm/live_stream.js). Tiles and the agent grid are redrawn only
// where a frame changed them; times in state tick every second on the page itself.
// Controls go to the REST API (CSRF-protected) and are audited there.
"use strict";

const STATE_LABELS = {logged_out: "Signed out", ready: "Ready", not_ready: "Not ready",
  reserved: "Ringing", on_call: "On call", wrap_up: "Wrap-up"};
const STATE_ORDER = ["reserved", "on_call", "wrap_up", "ready", "not_ready", "logged_out"];
const CHART_POINTS = 360;   // 30 minutes at one point every 5 s
const CHART_EVERY = 5000;

const board = {snap: null, queues: new Map(), agents: new Map(), alarms: new Map(),
  frames: 0, snapshots: 0, resyncs: 0, beeps: 0, lastWseq: 0};
window.wallboard = board;   // for the curious (and the browser tests)
let clockSkew = 0;          // server time − page time (a wall screen's clock may be off)
const charts = new Map();   // queue -> {plot, data}
let selected = null;        // the agent whose panel is open

const $ = (id) => document.getElementById(id);
const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;",
  "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const now = () => Date.now() / 1000 + clockSkew;

function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  const mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${m}:${ss}`;
}
const pct = (v) => (v == null ? "–" : `${Math.round(v)}%`);
const secs = (v) => (v == null ? "–" : `${Math.round(v)} s`);

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 4000);
}

// --- frames (the protocol and the state: icm/static/icm/live_stream.js) -------------------
const stream = new ipbxLive.LiveStream({
  path: "/ws/wallboard/",
  view: "wallboard",
  counters: board,
  onSnapshot: applySnapshot,
  onEvent: onEvent,
  onOpen: () => setLive(true),
  onClose: (ev) => {
    setLive(false);
    if (ev.code === 4401) { location.href = `/accounts/login/?next=${encodeURIComponent(location.pathname)}`; return true; }
    if (ev.code === 4403) { $("live").textContent = "not allowed"; return true; }
    return false;
  },
});

function onEvent(frame, change) {
  switch (frame.type) {
    case "agent.state": return updateAgent(change.agent);
    case "queue.stats": return updateQueues(frame.queues);
    case "alarm": return updateAlarm(change);
    case "switch.status": return renderSwitches();
    case "gateway.state": return renderGateways();
    default: return undefined;
  }
}

function applySnapshot(snap) {
  board.snap = snap;
  if (snap.server_time) clockSkew = snap.server_time - Date.now() / 1000;
  board.queues = new Map(snap.queues.map((q) => [q.name, q]));
  board.agents = new Map(snap.agents.map((a) => [a.agent, a]));
  board.alarms = new Map(snap.alarms.map((a) => [a.key, a]));
  document.body.dataset.role = snap.me.role;
  renderSwitches();
  renderGateways();
  renderQueues();
  renderAgents();
  renderAlarms();
  fillBulletinTargets();
}

function updateAgent(known) {
  if (!known) return;
  const card = document.querySelector(`.agent[data-agent="${CSS.escape(known.agent)}"]`);
  if (card) card.replaceWith(agentCard(known));
  renderCounts();
  if (selected === known.agent) showPanelState();
}

function updateQueues(changed) {
  for (const name of Object.keys(changed)) {
    const known = board.queues.get(name);
    const el = document.querySelector(`.tile[data-queue="${CSS.escape(name)}"]`);
    if (known && el) fillTile(el, known);
  }
}

function updateAlarm(change) {
  board.alarms = new Map(board.snap.alarms.map((a) => [a.key, a]));
  if (change.isNew) beep(change.alarm.severity);
  renderAlarms();
}

// --- rendering ----------------------------------------------------------------------------
function renderSwitches() {
  $("switches").innerHTML = Object.entries(board.snap.switches).map(([name, s]) =>
    `<span class="badge ${s.connected ? "on" : "off"}" data-switch="${esc(name)}" title="${esc(s.detail)}">` +
    `switch ${esc(name)}: ${s.connected ? "connected" : "disconnected"}</span>`).join(" ");
}

function renderGateways() {
  $("gateways").innerHTML = board.snap.gateways.map((g) => {
    const health = !g.enabled ? "disabled" : g.healthy === true ? "up" : g.healthy === false ? "down" : "unknown";
    const cls = {up: "on", down: "off", disabled: "", unknown: ""}[health];
    const detail = g.state ? ` ${g.state.toLowerCase()}${g.ping ? " / " + g.ping.toLowerCase() : ""}` : "";
    return `<span class="badge ${cls}" data-gateway="${esc(g.name)}" data-health="${health}">` +
      `trunk ${esc(g.name)}:${health === "disabled" ? " disabled" : esc(detail) || " no report"}</span>`;
  }).join(" ");
}

function renderQueues() {
  const box = $("queues");
  box.innerHTML = "";
  for (const q of board.queues.values()) {
    const el = document.createElement("article");
    el.className = "tile";
    el.dataset.queue = q.name;
    el.innerHTML = `
      <h3><span>${esc(q.display_name || q.name)}</span><small data-f="target"></small></h3>
      <div class="big">
        <div><small>Waiting</small><b data-f="waiting">0</b></div>
        <div><small>Longest wait</small><b data-f="longest">0:00</b></div>
        <div><small>SL 15 min</small><b data-f="sl_15m">–</b></div>
      </div>
      <dl>
        <dt>Offered</dt><dt>Answered</dt><dt>Abandoned</dt><dt>SL today</dt>
        <dd data-f="offered"></dd><dd data-f="answered"></dd><dd data-f="abandoned"></dd><dd data-f="sl_today"></dd>
        <dt>ASA</dt><dt>AHT</dt><dt>Max wait</dt><dt>Overflowed</dt>
        <dd data-f="asa"></dd><dd data-f="aht"></dd><dd data-f="max_wait"></dd><dd data-f="overflowed"></dd>
      </dl>
      <div class="states" data-f="states"></div>
      <div class="chart" data-f="chart"></div>
      <ul class="callers" data-f="callers"></ul>`;
    box.appendChild(el);
    fillTile(el, q);
    makeChart(el.querySelector("[data-f=chart]"), q.name);
  }
}

function fillTile(el, q) {
  const set = (f, text, cls) => {
    const node = el.querySelector(`[data-f=${f}]`);
    node.textContent = text;
    if (cls !== undefined) node.className = cls;
  };
  const target = q.sl_target;
  const slClass = (v) => (v == null || target == null ? "" : v < target ? "low" : "ok");
  set("waiting", q.waiting ?? 0);
  set("sl_15m", pct(q.sl_15m), slClass(q.sl_15m));
  set("sl_today", pct(q.sl_today), slClass(q.sl_today));
  set("offered", q.offered ?? 0);
  set("answered", q.answered ?? 0);
  set("abandoned", q.abandoned ?? 0);
  set("overflowed", q.overflowed ?? 0);
  set("asa", secs(q.asa));
  set("aht", secs(q.aht));
  set("max_wait", secs(q.max_wait));
  set("target", `SL ${target ?? "–"}% in ${q.sl_seconds ?? "–"} s`);
  const a = q.agents || {};
  el.querySelector("[data-f=states]").innerHTML =
    `<span data-s="ready"><i class="dot" style="background:var(--ready)"></i> ${a.ready ?? 0} ready</span>` +
    `<span data-s="reserved"><i class="dot" style="background:var(--ringing)"></i> ${a.reserved ?? 0} ringing</span>` +
    `<span data-s="on_call"><i class="dot" style="background:var(--oncall)"></i> ${a.on_call ?? 0} on call</span>` +
    `<span data-s="wrap_up"><i class="dot" style="background:var(--wrap)"></i> ${a.wrap_up ?? 0} wrap-up</span>` +
    `<span data-s="not_ready"><i class="dot" style="background:var(--notready)"></i> ${a.not_ready ?? 0} not ready</span>`;
  const canAssign = board.snap.can.includes("assign_call");
  const choices = [...board.agents.values()].filter((ag) => ["ready", "not_ready"].includes(ag.state));
  el.querySelector("[data-f=callers]").innerHTML = (q.callers || []).map((c) =>
    `<li data-contact="${esc(c.contact)}"><span>${esc(c.ani || "unknown")}</span>` +
    `<span class="wait" data-since="${c.since}"></span>` +
    (canAssign && choices.length ? `<select aria-label="assign to">${choices.map((ag) =>
      `<option value="${esc(ag.agent)}">${esc(ag.name)}</option>`).join("")}</select>` +
      `<button type="button" data-assign="${esc(c.contact)}">Assign</button>` : "") + "</li>").join("");
  const alarmed = [...board.alarms.values()].some((al) => al.subject === q.name);
  el.classList.toggle("alarm", alarmed);
  tickTile(el, q);
}

function tickTile(el, q) {
  const longest = q.oldest_since ? now() - q.oldest_since : 0;
  el.querySelector("[data-f=longest]").textContent = duration(q.waiting ? longest : 0);
  for (const w of el.querySelectorAll(".wait")) w.textContent = duration(now() - Number(w.dataset.since));
}

function agentCard(a) {
  const el = document.createElement("div");
  el.className = `agent st-${a.state}`;
  el.dataset.agent = a.agent;
  el.dataset.state = a.state;
  el.tabIndex = 0;
  const party = a.party && ["reserved", "on_call"].includes(a.state)
    ? `${a.party.name ? esc(a.party.name) + " " : ""}${esc(a.party.number)}` : "";
  el.innerHTML = `
    <div class="name" title="${esc(a.agent)}">${esc(a.name)} <small>${esc(a.agent)}</small></div>
    <div class="line"><span class="state">${esc(STATE_LABELS[a.state] || a.state)}${a.reason ? " · " + esc(a.reason) : ""}</span>
      <span class="in-state" data-since="${a.since ?? ""}"></span></div>
    <div class="line"><span class="party">${party}${a.queue ? " · " + esc(a.queue) : ""}</span></div>
    <div class="line"><span>calls <b class="handled">${a.today ? a.today.handled : 0}</b></span>
      <span>occupancy <b class="occupancy"></b></span></div>` +
    // ICM-1: a phone that is not registered is offered no calls; say why on the card
    (a.phone && a.phone.registered === false
      ? `<div class="line phone-off" title="${esc(a.phone.why)}">${esc(a.phone.why)}</div>` : "");
  el.classList.toggle("phone-down", Boolean(a.phone && a.phone.registered === false));
  tickAgent(el, a);
  return el;
}

function occupancy(a) {
  if (!a.today) return null;
  const seconds = {...a.today.seconds};
  if (a.state !== "logged_out" && a.since) seconds[a.state] = (seconds[a.state] || 0) + Math.max(0, now() - a.since);
  const busy = (seconds.reserved || 0) + (seconds.on_call || 0) + (seconds.wrap_up || 0);
  const total = busy + (seconds.ready || 0);
  return total ? (100 * busy) / total : null;
}

function tickAgent(el, a) {
  el.querySelector(".in-state").textContent = a.since && a.state !== "logged_out" ? duration(now() - a.since) : "";
  el.querySelector(".occupancy").textContent = pct(occupancy(a));
}

function renderAgents() {
  const box = $("agents");
  box.innerHTML = "";
  const agents = [...board.agents.values()].sort((x, y) =>
    STATE_ORDER.indexOf(x.state) - STATE_ORDER.indexOf(y.state) || x.agent.localeCompare(y.agent));
  for (const a of agents) box.appendChild(agentCard(a));
  renderCounts();
}

function renderCounts() {
  const counts = {};
  for (const a of board.agents.values()) counts[a.state] = (counts[a.state] || 0) + 1;
  $("counts").innerHTML = STATE_ORDER.filter((s) => counts[s]).map((s) =>
    `<span data-count="${s}">${STATE_LABELS[s]}: <b>${counts[s]}</b></span>`).join("");
}

function renderAlarms() {
  $("alarms").innerHTML = [...board.alarms.values()].map((a) =>
    `<li class="${esc(a.severity)}" data-key="${esc(a.key)}" data-kind="${esc(a.kind)}">${esc(a.text)}` +
    `<span class="since" data-since="${a.since}"></span></li>`).join("");
  for (const el of document.querySelectorAll(".tile")) {
    el.classList.toggle("alarm", [...board.alarms.values()].some((al) => al.subject === el.dataset.queue));
  }
}

// --- charts (uPlot): waiting callers and agents on call, last 30 minutes ----------------------
function makeChart(node, queue) {
  if (typeof uPlot === "undefined") return;
  const data = charts.get(queue)?.data || [[], [], []];
  const plot = new uPlot({width: Math.max(240, node.clientWidth || 260), height: 70,
    legend: {show: false}, cursor: {show: false},
    axes: [{show: false}, {size: 28, stroke: "#8b98a5", grid: {stroke: "#2d3743"}}],
    scales: {x: {time: true}},
    series: [{}, {label: "waiting", stroke: "#d29922", width: 2},
      {label: "on call", stroke: "#388bfd", width: 2}]}, data, node);
  charts.set(queue, {plot, data});
}

function sampleCharts() {
  const t = now();
  for (const [queue, chart] of charts) {
    const q = board.queues.get(queue);
    if (!q) continue;
    chart.data[0].push(t);
    chart.data[1].push(q.waiting ?? 0);
    chart.data[2].push((q.agents && q.agents.on_call) || 0);
    for (const series of chart.data) if (series.length > CHART_POINTS) series.shift();
    chart.plot.setData(chart.data);
  }
}

// --- sound --------------------------------------------------------------------------------
let audio = null;
function beep(severity) {
  if (!$("sound").checked) return;
  board.beeps += 1;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = severity === "critical" ? 880 : 660;
    gain.gain.value = 0.15;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.35);
  } catch (err) { /* no audio device: the alarm bar still shows it */ }
}

// --- controls -----------------------------------------------------------------------------
function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function post(url, body) {
  const res = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body)});
  let data = {};
  try { data = await res.json(); } catch (err) { data = {detail: res.statusText}; }
  if (!res.ok) throw new Error(data.detail || `refused (${res.status})`);
  return data;
}

function openPanel(agentId) {
  selected = agentId;
  const a = board.agents.get(agentId);
  $("panel-title").textContent = `${a.name} (${a.agent})`;
  $("panel-reason").innerHTML = board.snap.reasons.map((r) =>
    `<option value="${esc(r.code)}">${esc(r.label)}</option>`).join("");
  $("panel-ext").value = board.snap.me.extension || "";
  for (const b of document.querySelectorAll("#panel [data-act]")) {
    b.hidden = !board.snap.can.includes(b.dataset.act);
  }
  $("panel-result").textContent = "";
  showPanelState();
  showOrders();
  if (!$("panel").open) $("panel").showModal();
}

function showPanelState() {
  const a = board.agents.get(selected);
  if (!a) return;
  $("panel-state").textContent = `${STATE_LABELS[a.state] || a.state}${a.reason ? " (" + a.reason + ")" : ""}` +
    (a.party ? ` — with ${a.party.number}` : "");
}

async function act(action) {
  const args = {};
  if (action === "force_not_ready") args.reason = $("panel-reason").value;
  if (["monitor", "whisper", "barge"].includes(action)) args.extension = $("panel-ext").value.trim();
  if (action === "intercept" && $("panel-qa").value.trim()) args.extension = $("panel-qa").value.trim();
  if (action === "record" && $("panel-minutes").value.trim()) args.minutes = $("panel-minutes").value.trim();
  try {
    const result = await post(`/api/supervision/agents/${encodeURIComponent(selected)}/${action}/`, args);
    $("panel-result").textContent = `${action.replace(/_/g, " ")}: done`;
    if (action === "listen_browser") listenTo(result);
    if (action === "record") showOrders();
  } catch (err) {
    $("panel-result").textContent = `${action.replace(/_/g, " ")}: ${err.message}`;
  }
}

// --- live listen in the browser (REC-3): the tap's PCM played with Web Audio, the switch
// audio's levels (computed by the server per 0.1 s block) on two meters
const listening = {socket: null, ctx: null, gain: null, next: 0, rate: 8000, channels: 2, seconds: 0};
board.listenSocket = () => (listening.socket ? new URL(listening.socket.url).pathname : "");

function listenTo(result) {
  stopListening();
  const ctx = new AudioContext();
  const gain = ctx.createGain();
  gain.gain.value = Number($("listen-volume").value);
  gain.connect(ctx.destination);
  Object.assign(listening, {ctx, gain, next: 0, seconds: 0, played: 0});
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const s = new WebSocket(`${proto}://${location.host}${result.socket}`);
  s.binaryType = "arraybuffer";
  listening.socket = s;
  $("listen").hidden = false;
  $("listen").dataset.state = "connecting";
  $("listen-status").textContent = "connecting…";
  s.onmessage = (m) => {
    if (typeof m.data !== "string") { play(m.data); return; }
    const f = JSON.parse(m.data);
    if (f.type === "start") {
      Object.assign(listening, {rate: f.rate, channels: f.channels.length});
      $("listen").dataset.state = "live";
      $("listen-status").textContent = `live: ${f.agent}`;
    } else if (f.type === "level") {
      listening.seconds = f.seconds;
      showLevel("agent", f.levels[0]);
      if (f.levels.length > 1) showLevel("customer", f.levels[1]);
      $("listen").dataset.seconds = String(f.seconds);
    } else if (f.type === "ended") {
      $("listen").dataset.state = "ended";
      $("listen-status").textContent = `ended: ${f.why}`;
      showLevel("agent", -90); showLevel("customer", -90);
    }
  };
  s.onclose = (e) => {
    if ($("listen").dataset.state !== "ended") {
      $("listen").dataset.state = "ended";
      $("listen-status").textContent = e.code === 4403 ? "not your tap" : "disconnected";
    }
  };
}

function showLevel(side, db) {
  $(`level-${side}`).value = Math.max(-60, db);
  $(`db-${side}`).textContent = db <= -90 ? "–" : `${db.toFixed(0)} dB`;
  $(`level-${side}`).dataset.db = String(db);
}

function play(data) {
  const {ctx, gain, rate, channels} = listening;
  const pcm = new Int16Array(data);
  const frames = pcm.length / channels;
  if (!ctx || frames < 1) return;
  const buffer = ctx.createBuffer(channels, frames, rate);
  for (let c = 0; c < channels; c++) {
    const out = buffer.getChannelData(c);
    for (let i = 0; i < frames; i++) out[i] = pcm[i * channels + c] / 32768;
  }
  const src = ctx.createBufferSource();
  src.buffer = buffer;
  src.connect(gain);
  // a little ahead of now; a late block starts over rather than piling up delay
  if (listening.next < ctx.currentTime + 0.05 || listening.next > ctx.currentTime + 1) {
    listening.next = ctx.currentTime + 0.15;
  }
  src.start(listening.next);
  listening.next += buffer.duration;
  listening.played += frames;
  $("listen").dataset.played = String(listening.played);
}

function stopListening() {
  if (listening.socket) { listening.socket.onclose = null; listening.socket.close(); }
  if (listening.ctx) listening.ctx.close();
  Object.assign(listening, {socket: null, ctx: null, gain: null});
  if ($("listen").dataset.state && $("listen").dataset.state !== "ended") {
    $("listen").dataset.state = "stopped";
    $("listen-status").textContent = "stopped";
  }
}

// the agent's recording orders (SV-5), each with its Cancel
async function showOrders() {
  const list = $("panel-orders");
  list.innerHTML = "";
  if (!board.snap.can.includes("record")) return;
  const agent = selected;
  const res = await fetch(`/api/supervision/record-orders/?agent=${encodeURIComponent(agent)}`,
    {credentials: "same-origin"});
  if (!res.ok || agent !== selected) return;
  const {orders} = await res.json();
  list.innerHTML = orders.map((o) => `<li data-order="${o.id}">Recording ordered by ${esc(o.ordered_by)} ` +
    `from ${esc(new Date(o.starts_at).toLocaleTimeString())} ` +
    `${o.ends_at ? "until " + esc(new Date(o.ends_at).toLocaleTimeString()) : "until cancelled"} ` +
    `<button type="button" data-cancel-order="${o.id}">Cancel order</button></li>`).join("");
}

async function cancelOrder(id) {
  try {
    await post(`/api/supervision/record-orders/${id}/cancel/`, {});
    $("panel-result").textContent = "recording order cancelled";
  } catch (err) { $("panel-result").textContent = `cancel: ${err.message}`; }
  showOrders();
}

async function assign(queue, contact, agent) {
  try {
    await post(`/api/supervision/queues/${encodeURIComponent(queue)}/assign/`, {contact, agent});
    toast(`offered to ${agent}`);
  } catch (err) { toast(`assign: ${err.message}`); }
}

function fillBulletinTargets() {
  const kind = $("bulletin-kind").value;
  const options = kind === "group" ? board.snap.groups.map((g) => [g, g])
    : kind === "agent" ? [...board.agents.values()].map((a) => [a.agent, a.name]) : [];
  $("bulletin-target").innerHTML = options.map(([v, l]) => `<option value="${esc(v)}">${esc(l)}</option>`).join("");
  $("bulletin-target").hidden = kind === "all";
}

async function sendBulletin() {
  const kind = $("bulletin-kind").value;
  const to = {kind};
  if (kind !== "all") to.target = $("bulletin-target").value;
  try {
    const r = await post("/api/supervision/bulletins/", {text: $("bulletin-text").value, to,
      priority: $("bulletin-priority").value});
    $("bulletin-result").textContent = `sent to ${(r.receipts || []).length} agents`;
    $("bulletin-text").value = "";
  } catch (err) { $("bulletin-result").textContent = err.message; }
}

// --- the socket ---------------------------------------------------------------------------
function send(frame) { stream.send(frame); }

function connect() { stream.connect(); }

function setLive(on) {
  $("live").className = `badge ${on ? "on" : "off"}`;
  $("live").textContent = on ? "live" : "reconnecting…";
  document.body.dataset.live = on ? "1" : "0";
}

function tick() {
  $("clock").textContent = new Date().toLocaleTimeString();
  for (const el of document.querySelectorAll(".tile")) {
    const q = board.queues.get(el.dataset.queue);
    if (q) tickTile(el, q);
  }
  for (const el of document.querySelectorAll(".agent")) {
    const a = board.agents.get(el.dataset.agent);
    if (a) tickAgent(el, a);
    el.classList.toggle("long", a && a.state === "not_ready" && a.since && now() - a.since > 900);
  }
  for (const el of document.querySelectorAll("#alarms .since")) el.textContent = `since ${duration(now() - Number(el.dataset.since))}`;
}

function toggleFullscreen() {
  document.body.classList.toggle("wall");
  if (!document.fullscreenElement) document.documentElement.requestFullscreen?.().catch(() => {});
  else document.exitFullscreen?.();
}

document.addEventListener("DOMContentLoaded", () => {
  $("sound").checked = localStorage.getItem("ipbx-wallboard-sound") === "1";
  $("sound").addEventListener("change", () => {
    localStorage.setItem("ipbx-wallboard-sound", $("sound").checked ? "1" : "0");
    if ($("sound").checked && !audio) { try { audio = new AudioContext(); } catch (err) { /* none */ } }
  });
  $("fullscreen").addEventListener("click", toggleFullscreen);
  document.addEventListener("fullscreenchange", () => {
    document.body.classList.toggle("wall", Boolean(document.fullscreenElement));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "f" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) toggleFullscreen();
  });
  $("agents").addEventListener("click", (e) => {
    const card = e.target.closest(".agent");
    if (card) openPanel(card.dataset.agent);
  });
  $("agents").addEventListener("keydown", (e) => {
    const card = e.target.closest(".agent");
    if (card && e.key === "Enter") openPanel(card.dataset.agent);
  });
  $("panel").addEventListener("click", (e) => {
    const b = e.target.closest("[data-act]");
    if (b) act(b.dataset.act);
    const c = e.target.closest("[data-cancel-order]");
    if (c) cancelOrder(c.dataset.cancelOrder);
  });
  $("panel").addEventListener("close", stopListening);  // the tap ends with the dialog
  $("listen-stop").addEventListener("click", stopListening);
  $("listen-volume").addEventListener("input", () => {
    if (listening.gain) listening.gain.gain.value = Number($("listen-volume").value);
  });
  $("queues").addEventListener("click", (e) => {
    const b = e.target.closest("[data-assign]");
    if (!b) return;
    const tile = b.closest(".tile");
    assign(tile.dataset.queue, b.dataset.assign, b.previousElementSibling.value);
  });
  $("bulletin-open").addEventListener("click", () => { fillBulletinTargets(); $("bulletin").showModal(); });
  $("bulletin-kind").addEventListener("change", fillBulletinTargets);
  $("bulletin-send").addEventListener("click", sendBulletin);
  setInterval(tick, 1000);
  setInterval(sampleCharts, CHART_EVERY);
  connect();
});
