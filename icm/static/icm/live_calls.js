// Live calls page: snapshot over HTTP, then sequenced deltas over WebSocket (a gap → re-snapshot).
"use strict";
(function () {
  const calls = new Map();      // key switch|call_uuid → call
  const seqs = new Map();       // switch → last applied seq
  const statuses = new Map();   // switch → {connected, detail}
  const ended = [];
  let endedCount = 0;
  let buffered = [];
  let loading = false;
  const canControl = document.getElementById("calls").dataset.canControl === "1";
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";

  function key(call) { return call.switch + "|" + call.call_uuid; }
  function secondsSince(iso) { return Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); }
  function fmt(sec) { const m = Math.floor(sec / 60), s = sec % 60; return m + ":" + String(s).padStart(2, "0"); }
  function text(tag, value, cls) { const el = document.createElement(tag); el.textContent = value; if (cls) el.className = cls; return el; }

  async function loadSnapshot() {
    if (loading) return;
    loading = true;
    try {
      const resp = await fetch("/api/live/", { credentials: "same-origin" });
      if (!resp.ok) throw new Error("snapshot " + resp.status);
      const data = await resp.json();
      calls.clear(); seqs.clear(); statuses.clear();
      for (const snap of data.switches) {
        seqs.set(snap.switch, snap.seq);
        statuses.set(snap.switch, { connected: snap.connected, detail: snap.status.detail || "" });
        for (const call of snap.calls) calls.set(key(call), call);
      }
      const pending = buffered; buffered = [];
      loading = false;
      for (const ev of pending) apply(ev);
    } catch (err) {
      loading = false;
      setTimeout(loadSnapshot, 2000);
    }
    render();
  }

  function apply(ev) {
    if (ev.type === "resync") { loadSnapshot(); return; }
    if (loading) { buffered.push(ev); return; }
    const last = seqs.get(ev.switch);
    if (last === undefined || ev.type === "reset") { loadSnapshot(); return; }
    if (ev.seq <= last && ev.seq > last - 1000) return;  // already in the snapshot
    if (ev.seq < last) { loadSnapshot(); return; }   // the bus restarted its numbering
    if (ev.seq !== last + 1) { loadSnapshot(); return; }  // gap: something was missed
    seqs.set(ev.switch, ev.seq);
    if (ev.type === "call.updated") calls.set(key(ev.call), ev.call);
    else if (ev.type === "call.ended") {
      calls.delete(key(ev.call));
      ended.unshift(ev.call); ended.length = Math.min(ended.length, 20); endedCount += 1;
    } else if (ev.type === "call.hidden") calls.delete(key(ev.call));  // left the user's scope
    else if (ev.type === "switch.status") statuses.set(ev.switch, ev.status);
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
    const rows = [...calls.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
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
    sw.replaceChildren(...[...statuses.entries()].map(([name, st]) =>
      text("span", name + (st.connected ? " connected" : " disconnected"), "switch" + (st.connected ? " up" : ""))));
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(proto + location.host + "/ws/live/");
    const state = document.getElementById("stream-state");
    ws.onopen = () => { state.textContent = "live"; loadSnapshot(); };
    ws.onmessage = (msg) => apply(JSON.parse(msg.data));
    ws.onclose = () => { state.textContent = "reconnecting…"; setTimeout(connect, 1500); };
  }

  setInterval(() => document.querySelectorAll("#calls .duration").forEach((td, i) => {
    const call = [...calls.values()].sort((a, b) => a.created_at.localeCompare(b.created_at))[i];
    if (call) td.textContent = fmt(secondsSince(call.created_at));
  }), 1000);
  connect();
})();
