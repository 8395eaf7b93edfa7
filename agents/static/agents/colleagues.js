// The desktop's colleagues (AG-8, AG-18, AG-19, AG-23): the address book — colleagues with
// their live state, extensions, my frequent numbers, the shared entries; searchable; click
// to call — the "call an agent by ID" form, listen / barge on a busy teammate's call (with
// the permission), and how an internal call shows (who calls whom) in the contact panel.
// Loaded after desktop.js: it uses window.ipbxDesktop (command, dial, toast) and renders
// after every desktop render (window.ipbxDesktopRenderers).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const desk = () => window.ipbxDesktop;
  const me = document.body.dataset.agent;
  const STATES = {logged_out: "signed out", ready: "ready", not_ready: "not ready",
    reserved: "ringing", on_call: "on a call", wrap_up: "wrap-up"};
  let book = {agents: [], extensions: [], frequent: [], shared: []};
  let loading = null;

  function esc(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
      '"': "&quot;", "'": "&#39;"}[c]));
  }

  async function load() {
    const q = $("book-search").value.trim();
    const mine = loading = fetch(`/api/agents/${encodeURIComponent(me)}/address-book/?q=${encodeURIComponent(q)}`,
      {credentials: "same-origin"});
    const res = await mine;
    if (mine !== loading || !res.ok) return;
    book = await res.json();
    renderBook();
    renderInternal(window.ipbxDesktop && desk().snapshot());
  }

  function nameOf(login) {
    const found = book.agents.find((a) => a.login_id === login);
    return found ? found.name : login;
  }

  function row(kind, name, number, extra, buttons) {
    return `<tr data-kind="${kind}" data-number="${esc(number)}"><td>${esc(name)}</td><td>${esc(number)}</td>
      <td>${extra}</td><td class="book-actions">${buttons}</td></tr>`;
  }

  function renderBook() {
    const agents = book.agents.map((a) => {
      const busy = a.state === "on_call";
      const monitor = a.may_monitor && busy
        ? `<button type="button" class="book-listen" data-agent="${esc(a.login_id)}" title="Listen to the call">Listen</button>
           <button type="button" class="book-barge" data-agent="${esc(a.login_id)}" title="Join the call">Barge</button>` : "";
      const call = a.state === "ready" || a.state === "not_ready"
        ? `<button type="button" class="book-call-agent" data-agent="${esc(a.login_id)}">Call</button>` : "";
      return `<tr data-kind="agent" data-agent="${esc(a.login_id)}" data-state="${esc(a.state)}">
        <td>${esc(a.name)} <small class="muted">${esc(a.login_id)}</small></td><td>${esc(a.extension)}</td>
        <td class="book-state state-${esc(a.state)}">${esc(STATES[a.state] || a.state)}${a.internal ? " (internal)" : ""}</td>
        <td class="book-actions">${call}${monitor}</td></tr>`;
    });
    const dial = (n) => `<button type="button" class="book-dial" data-number="${esc(n)}">Call</button>`;
    const sections = [
      ["Agents", agents],
      ["Extensions", book.extensions.map((e) => row("extension", e.name, e.number, "", dial(e.number)))],
      ["My frequent numbers", book.frequent.map((f) => row("frequent", f.name || "", f.number,
        `${f.calls} call${f.calls === 1 ? "" : "s"}`, dial(f.number)))],
      ["Shared", book.shared.map((s) => row("shared", s.name, s.number, esc(s.note), dial(s.number)))],
    ];
    $("book").querySelector("tbody").innerHTML = sections.filter(([, rows]) => rows.length)
      .map(([title, rows]) => `<tr class="book-head"><th colspan="4">${title}</th></tr>${rows.join("")}`).join("")
      || `<tr><td colspan="4" class="muted">Nothing found.</td></tr>`;
  }

  async function callAgent(target) {
    if (!target) { desk().toast("Which agent? Type its agent ID."); return; }
    const done = await desk().command("call_agent", {target});
    if (done) { desk().toast(`Calling ${nameOf(done.target)}: your phone rings first.`, true); return; }
    const peer = book.agents.find((a) => a.login_id === target);
    if (peer && peer.may_monitor && peer.state === "on_call") {  // AG-19: offer to listen or barge
      desk().toast(`${peer.name} is on a call: use Listen or Barge next to them in the address book.`);
    }
  }

  async function monitor(target, mode) {
    const done = await desk().command("monitor_colleague", {target, mode});
    if (done) desk().toast(`${mode === "barge" ? "Joining" : "Listening to"} ${nameOf(target)}'s call: your phone rings.`, true);
  }

  // the contact panel of an internal call: who calls whom (the screen pop names the caller)
  function renderInternal(snap) {
    const internal = snap && snap.state && snap.state.internal;
    document.body.dataset.internal = internal ? internal.state : "";
    if (!internal) return;
    const peer = `${nameOf(internal.peer)} (${internal.peer})`;
    if (snap.state.state === "reserved") {
      const offer = snap.state.offer || {};
      $("offer-arrived").textContent = "internal call";
      $("offer-customer").innerHTML = "";
      $("offer-note").hidden = false;
      $("offer-note").textContent = internal.role === "callee"
        ? `Internal call from ${offer.transferred_by || internal.peer} (${internal.peer})`
        : `Calling ${peer}: pick up your phone`;
      $("offer-ani").textContent = internal.peer_extension ? `ext ${internal.peer_extension}` : "";
    } else if (snap.state.state === "on_call") {
      $("incall-ani").textContent = internal.state === "ringing"
        ? `Ringing ${peer}…` : `Internal call with ${peer}`;
      $("incall-customer").innerHTML = "";
      $("transfer").hidden = true;
    }
  }

  $("book-search").addEventListener("input", () => { clearTimeout(load.timer); load.timer = setTimeout(load, 250); });
  $("call-agent").addEventListener("submit", (ev) => { ev.preventDefault(); callAgent($("call-agent-id").value.trim()); });
  $("book").addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.classList.contains("book-call-agent")) callAgent(b.dataset.agent);
    else if (b.classList.contains("book-dial")) desk().dial(b.dataset.number);
    else if (b.classList.contains("book-listen")) monitor(b.dataset.agent, "listen");
    else if (b.classList.contains("book-barge")) monitor(b.dataset.agent, "barge");
  });
  (window.ipbxDesktopRenderers = window.ipbxDesktopRenderers || []).push(renderInternal);
  load();
  setInterval(load, 5000);  // the colleagues' live states
})();
