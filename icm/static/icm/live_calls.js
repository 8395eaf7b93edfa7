// Live calls page: the live protocol (icm/live_stream.js): a snapshot, then numbered events
// over one WebSocket; a missing frame brings a fresh snapshot.
"use strict";
(function () {
  // the state (a snapshot, then events applied on it): icm/static/icm/live_stream.js
  const ended = [];
  let endedCount = 0;
  const canControl = document.getElementById("calls").dataset.canControl === "1";
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  function secondsSince(iso) { return Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); }
  function fmt(sec) { const m = Math.floor(sec / 60), s = sec % 60; return m + ":" + String(s).padStart(2, "0"); }
  function text(tag, value, cls) { const el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el; }
  function liveCalls() {
    const switches = stream.state ? stream.state.switches : [];
    return switches.flatMap((sw) => sw.calls).sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  function onEvent(ev, change) {
    if (change.ended) {
      ended.unshift(change.ended); ended.length = Math.min(ended.length, 20); endedCount += 1;
    }
    scheduleRender();
  }

  let renderQueued = false;
  function scheduleRender() { if (!renderQueued) { renderQueued = true; requestAnimationFrame(() => { renderQueued = false; render(); }); } }

  async function hangup(call) {
    const resp = await fetch("/api/calls/" + encodeURIComponent(call.call_uuid) + "/hangup/?switch=" + encodeURIComponent(call.switch), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: "{}",
    });
    if (!resp.ok) { const body = await resp.json().catch(() => ({})); alert("Hang-up failed: " + (body.detail || resp.status)); }
  }

  function render() {
    const tbody = document.querySelector("#calls tbody");
    const rows = liveCalls();
    tbody.replaceChildren(...rows.map((call) => {
      const tr = document.createElement("tr");
      tr.dataset.callUuid = call.call_uuid;
      const caller = call.caller_name && call.caller_name !== call.ani ? call.ani + " (" + call.caller_name + ")" : call.ani;
      tr.append(text("td", caller),
        text("td", call.dnis), text("td", call.direction));
      const st = document.createElement("td"); st.append(text("span", call.state, "state state-" + call.state)); tr.append(st);
      tr.append(text("td", call.queue || "—"), text("td", call.agent || "—"), text("td", String(call.legs.length)),
        text("td", fmt(secondsSince(call.created_at)), "duration"), text("td", call.switch));
      const act = document.createElement("td");
      if (canControl) { const b = text("button", "Hang up"); b.onclick = () => hangup(call); act.append(b); }
      tr.append(act);
      return tr;
    }));
    document.getElementById("empty").hidden = rows.length > 0;
    document.getElementById("count-live").textContent = rows.length;
    document.getElementById("count-ringing").textContent = rows.filter((c) => c.state === "ringing").length;
    document.getElementById("count-talking").textContent = rows.filter((c) => c.state !== "ringing").length;
    document.getElementById("count-ended").textContent = endedCount;
    document.querySelector("#ended tbody").replaceChildren(...ended.map((call) => {
      const tr = document.createElement("tr");
      const dur = call.ended_at ? Math.round((Date.parse(call.ended_at) - Date.parse(call.created_at)) / 1000) : 0;
      tr.append(text("td", call.ani), text("td", call.dnis), text("td", call.queue || "—"),
        text("td", call.agent || "—"), text("td", call.hangup_cause),
        text("td", fmt(dur)), text("td", new Date(call.ended_at).toLocaleTimeString()));
      return tr;
    }));
    const sw = document.getElementById("switches");
    const switches = stream.state ? stream.state.switches : [];
    sw.replaceChildren(...switches.map((s) =>
      text("span", s.switch + (s.connected ? " connected" : " disconnected"), "switch" + (s.connected ? " up" : ""))));
  }

  const state = document.getElementById("stream-state");
  const stream = new ipbxLive.LiveStream({
    path: "/ws/live/",
    view: "calls",
    onSnapshot: () => { state.textContent = "live"; render(); },
    onEvent: onEvent,
    onClose: () => { state.textContent = "reconnecting…"; return false; },
  });

  setInterval(() => document.querySelectorAll("#calls .duration").forEach((td, i) => {
    const call = liveCalls()[i];
    if (call) td.textContent = fmt(secondsSince(call.created_at));
  }), 1000);
  stream.connect();
})();
