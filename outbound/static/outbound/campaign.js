// A campaign's page: progress every 2 s from the API, the controls, the list upload.
"use strict";

const $ = (id) => document.getElementById(id);
const name = document.body.dataset.campaign;
const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;",
  ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

function show(p) {
  $("state").textContent = p.state;
  $("state").dataset.state = p.state;
  $("reason").textContent = p.state_reason ? `Paused by the platform: ${p.state_reason}` : "";
  for (const k of ["contacts", "remaining", "dialed", "ringing", "talking", "connected"]) $(k).textContent = p[k];
  $("abandoned").textContent = p.abandoned_pct ?? "–";
  $("done").textContent = `${p.done_pct ?? "–"} %`;
  $("results").querySelector("tbody").innerHTML = Object.entries(p.results).map(([k, v]) =>
    `<tr data-result="${esc(k)}"><th>${esc(k.replace("_", " "))}</th><td>${v}</td></tr>`).join("");
  for (const b of document.querySelectorAll("[data-act]")) {
    const ok = {start: ["draft", "stopped", "finished"], pause: ["running"], resume: ["paused"],
      stop: ["running", "paused"]}[b.dataset.act];
    b.disabled = !ok.includes(p.state);
  }
}

async function refresh() {
  const res = await fetch(`/api/campaigns/${name}/`, {credentials: "same-origin"});
  if (res.ok) show(await res.json());
}

async function act(action) {
  const res = await fetch(`/api/campaigns/${name}/${action}/`, {method: "POST", credentials: "same-origin",
    headers: {"X-CSRFToken": csrf()}});
  const data = await res.json();
  $("result").textContent = res.ok ? `${action}: done` : data.detail;
  if (res.ok) show(data);
}

async function upload(event) {
  event.preventDefault();
  const body = new FormData();
  body.append("file", $("file").files[0]);
  const res = await fetch(`/api/campaigns/${name}/contacts/`, {method: "POST", credentials: "same-origin",
    headers: {"X-CSRFToken": csrf()}, body});
  const data = await res.json();
  if (!res.ok) { $("upload-result").textContent = data.detail; return; }
  $("upload-result").textContent = `${data.added} contacts added, ${data.rejected} rows refused of ${data.rows}`;
  $("upload-errors").innerHTML = data.errors.map((e) => `<li>line ${e.line}: ${esc(e.why)}</li>`).join("");
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelector(".controls").addEventListener("click", (e) => {
    const b = e.target.closest("[data-act]");
    if (b) act(b.dataset.act);
  });
  $("upload").addEventListener("submit", upload);
  refresh();
  setInterval(refresh, 2000);
});
