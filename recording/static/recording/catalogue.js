// The recording catalogue: search (the API counts and pages), a player with the waveform
// (click to seek) and scoring against an evaluation form. Listens are logged server-side.
"use strict";

const $ = (id) => document.getElementById(id);
const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
let current = null;   // the recording in the player
let wave = null;      // its peaks

function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

function duration(s) {
  if (s == null) return "–";
  s = Math.round(s);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function runSearch(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("search"))) if (v) params.set(k, v);
  const res = await fetch(`/api/recordings/?${params}`, {credentials: "same-origin"});
  const data = await res.json();
  if (!res.ok) { $("count").textContent = data.detail; return; }
  $("count").textContent = `${data.count} recording${data.count === 1 ? "" : "s"}`;
  $("results").querySelector("tbody").innerHTML = data.results.map((r) =>
    `<tr data-id="${r.id}"><td>${esc(new Date(r.started_at).toLocaleString())}</td><td>${esc(r.ani)}</td>` +
    `<td>${esc(r.dnis)}</td><td>${esc(r.agent_name || r.agent)}</td><td>${esc(r.queue)}</td>` +
    `<td>${esc(r.customer)}</td><td>${duration(r.duration)}</td><td>${esc(r.format)}</td>` +
    `<td class="qa">${r.qa_score ?? "–"}${r.legal_hold ? ' <span class="held" title="legal hold">⚖</span>' : ""}</td></tr>`).join("");
}

async function open(id) {
  for (const tr of document.querySelectorAll("#results tr")) tr.classList.toggle("selected", tr.dataset.id === String(id));
  const res = await fetch(`/api/recordings/${id}/`, {credentials: "same-origin"});
  if (!res.ok) return;
  current = await res.json();
  $("player").hidden = false;
  $("player").dataset.id = id;
  $("player-title").textContent = `${current.ani} → ${current.dnis}, ${new Date(current.started_at).toLocaleString()}`;
  $("player-meta").textContent = `${current.agent_name || current.agent} · ${current.queue || "no queue"} · ` +
    `${duration(current.duration)} · ${current.format}, ${current.channels === 2 ? "stereo" : "mono"}, ` +
    `${current.sample_rate} Hz · ${current.size} bytes · SHA-256 ${current.sha256.slice(0, 12)}…` +
    (current.paused ? ` · ${current.paused.toFixed(1)} s paused` : "");
  $("audio").src = `/recordings/${id}/audio`;
  const dl = $("download");
  dl.hidden = document.body.dataset.mayDownload !== "1";
  dl.href = `/recordings/${id}/audio?download=1`;
  showHold();
  $("score").textContent = current.evaluations.length  // newest first
    ? `Score: ${current.evaluations.map((e) => `${e.score} (${e.form}, ${e.by})`).join("; earlier ")}` : "";
  $("log").innerHTML = current.log.map((l) => `<li>${esc(new Date(l.at).toLocaleString())} ${esc(l.who)} ${esc(l.kind)} ${esc(l.detail)}</li>`).join("");
  wave = null;
  drawWave();
  const w = await fetch(`/api/recordings/${id}/waveform?points=900`, {credentials: "same-origin"});
  if (w.ok) { wave = await w.json(); drawWave(); }
}

function drawWave() {
  const canvas = $("waveform");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!wave) return;
  const lanes = wave.channels.length, laneH = canvas.height / lanes;
  const colours = ["#1f6feb", "#8250df"];
  wave.channels.forEach((peaks, c) => {
    ctx.fillStyle = colours[c % 2];
    const step = canvas.width / peaks.length, mid = laneH * c + laneH / 2;
    peaks.forEach((p, i) => { const h = Math.max(1, p * laneH * 0.9); ctx.fillRect(i * step, mid - h / 2, Math.max(1, step - 0.5), h); });
  });
  const audio = $("audio");
  if (wave.duration && audio.currentTime) {
    ctx.fillStyle = "#cf222e";
    ctx.fillRect((audio.currentTime / wave.duration) * canvas.width, 0, 2, canvas.height);
  }
}

function seek(event) {
  if (!wave) return;
  const rect = $("waveform").getBoundingClientRect();
  $("audio").currentTime = ((event.clientX - rect.left) / rect.width) * wave.duration;
  drawWave();
}

function showQuestions() {
  for (const fs of document.querySelectorAll(".questions")) fs.hidden = fs.dataset.form !== $("form").value;
}

async function saveScore(event) {
  event.preventDefault();
  const answers = {};
  for (const input of document.querySelectorAll(`.questions[data-form="${$("form").value}"] input`)) {
    answers[input.dataset.question] = input.value;
  }
  const res = await fetch(`/api/recordings/${current.id}/evaluations/`, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify({form: Number($("form").value), answers, comment: $("comment").value})});
  const data = await res.json();
  $("score").textContent = res.ok ? `Score: ${data.score}` : data.detail;
  if (res.ok) { runSearch(); open(current.id); }
}

function showHold() {
  $("held").hidden = !current.legal_hold;
  $("hold").hidden = document.body.dataset.mayHold !== "1";
  $("hold-button").textContent = current.legal_hold ? "Lift the legal hold" : "Put under legal hold";
  $("hold-result").textContent = "";
}

async function toggleHold(event) {
  event.preventDefault();
  const res = await fetch(`/api/recordings/${current.id}/hold/`, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify({hold: !current.legal_hold, reason: $("hold-reason").value})});
  const data = await res.json();
  if (!res.ok) { $("hold-result").textContent = data.detail; return; }
  $("hold-reason").value = "";
  await open(current.id);
  $("hold-result").textContent = data.legal_hold ? "under legal hold: retention will not delete it" : "legal hold lifted";
}

async function trimCopy(event) {
  event.preventDefault();
  const res = await fetch(`/api/recordings/${current.id}/trim/`, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify({start: Number($("trim-start").value), end: Number($("trim-end").value)})});
  const data = await res.json();
  $("trim-result").textContent = res.ok ? `new recording ${data.id}, ${duration(data.duration)} (the original is kept)` : data.detail;
  if (res.ok) runSearch();
}

document.addEventListener("DOMContentLoaded", () => {
  $("trim").addEventListener("submit", trimCopy);
  $("hold").addEventListener("submit", toggleHold);
  $("search").addEventListener("submit", runSearch);
  $("results").addEventListener("click", (e) => { const tr = e.target.closest("tr[data-id]"); if (tr) open(tr.dataset.id); });
  $("waveform").addEventListener("click", seek);
  $("audio").addEventListener("timeupdate", drawWave);
  $("form").addEventListener("change", showQuestions);
  $("evaluate").addEventListener("submit", saveScore);
  showQuestions();
  runSearch();
});
