// Standing intercepts on the wallboard (SV-9): "listen to all of agent X's calls until T"
// from a phone (yours, or the one given); the intercepts in force, each with its Cancel.
// icm rings that phone and listens on every call the agent connects to until T.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;",
    ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const csrf = () => {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  };

  async function call(url, body) {
    const res = await fetch(url, {method: body ? "POST" : "GET", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: body ? JSON.stringify(body) : undefined});
    let data = {};
    try { data = await res.json(); } catch (err) { data = {detail: res.statusText}; }
    if (!res.ok) throw new Error(data.detail || `refused (${res.status})`);
    return data;
  }

  async function refresh() {
    let data;
    try { data = await call("/api/supervision/intercepts/"); } catch (err) { $("intercepts-section").hidden = true; return; }
    $("intercepts-section").hidden = false;
    $("intercepts-list").innerHTML = data.intercepts.map((i) => `<li data-intercept="${i.id}">
      <b>${esc(i.agent_name)}</b> (${esc(i.agent)}) · listened on ${esc(i.extension)} until
      ${esc(new Date(i.ends_at).toLocaleString())} · by ${esc(i.ordered_by)}
      <button type="button" data-cancel-intercept="${i.id}">Cancel</button></li>`).join("")
      || "<li class='muted'>None.</li>";
  }

  $("intercept-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const until = new Date($("intercept-until").value);
    if (Number.isNaN(until.getTime())) { $("intercept-result").textContent = "until when?"; return; }
    try {
      const done = await call("/api/supervision/intercepts/", {agent: $("intercept-agent").value.trim(),
        until: until.toISOString(), extension: $("intercept-ext").value.trim()});
      $("intercept-result").textContent = `${done.agent}'s calls are listened to on ${done.extension}`;
    } catch (err) { $("intercept-result").textContent = `intercept: ${err.message}`; }
    refresh();
  });
  $("intercepts-list").addEventListener("click", async (ev) => {
    const id = ev.target.dataset.cancelIntercept;
    if (!id) return;
    try {
      await call(`/api/supervision/intercepts/${id}/cancel/`, {});
      $("intercept-result").textContent = "intercept cancelled";
    } catch (err) { $("intercept-result").textContent = `cancel: ${err.message}`; }
    refresh();
  });
  refresh();
  setInterval(refresh, 10000);
})();
