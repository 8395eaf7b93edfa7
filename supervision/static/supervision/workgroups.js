// The work-groups page (SV-13): each form and button calls the work-group API. The server
// renders the groups, so a change that went through reloads the page (its message survives
// the reload); a refused one shows the API's reason and leaves the page as it was.
"use strict";

const API = "/api/supervision/work-groups/";
const SAID = "ipbx-work-groups-said";
const statusLine = document.getElementById("status");
const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";

function say(text, ok = false) {
  statusLine.textContent = text;
  statusLine.className = ok ? "ok" : "error";
}

async function send(method, url, body) {
  const r = await fetch(url, {method, credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: body === undefined ? undefined : JSON.stringify(body)});
  if (r.ok) return r.status === 204 ? null : r.json();
  let detail = `${r.status} ${r.statusText}`;
  try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
  throw new Error(detail);
}

async function run(request, done) {
  try {
    await request();
  } catch (err) {
    say(err.message);
    return;
  }
  sessionStorage.setItem(SAID, done);
  location.reload();
}

function groupFields(form) {
  const data = new FormData(form);
  return {name: data.get("name"), description: data.get("description"),
    leaders: data.getAll("leaders"), queues: data.getAll("queues")};
}

document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const group = form.closest(".group");
  const url = group ? `${API}${group.dataset.id}/` : API;
  ev.preventDefault();
  if (form.dataset.action === "create") {
    const fields = groupFields(form);
    run(() => send("POST", API, fields), `Work group ${fields.name} created.`);
  } else if (form.dataset.action === "edit") {
    run(() => send("PATCH", url, groupFields(form)), `Work group ${group.dataset.name} saved.`);
  } else if (form.dataset.action === "add-agent") {
    const agent = new FormData(form).get("agent");
    run(() => send("POST", `${url}agents/`, {add: [agent]}),
      `${agent} added to ${group.dataset.name}.`);
  }
});

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-action]");
  const group = button?.closest(".group");
  if (!group) return;
  const url = `${API}${group.dataset.id}/`;
  if (button.dataset.action === "remove-agent") {
    const agent = button.dataset.agent;
    run(() => send("POST", `${url}agents/`, {remove: [agent]}),
      `${agent} removed from ${group.dataset.name}.`);
  } else if (button.dataset.action === "delete") {
    if (!confirm(`Delete the work group ${group.dataset.name}? Its agents stay; they only leave the group.`)) return;
    run(() => send("DELETE", url), `Work group ${group.dataset.name} deleted.`);
  }
});

const said = sessionStorage.getItem(SAID);
if (said) {
  sessionStorage.removeItem(SAID);
  say(said, true);
}
