// The mailbox page (IVR-7): the user's mailboxes and messages (voicemail.access scopes them);
// play (the audio view logs each listen), mark heard, delete, forward to an agent or a queue.
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function post(url, body) {
  const r = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify(body || {})});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.detail || `HTTP ${r.status}`);
  return data;
}

async function loadMailboxes() {
  const r = await fetch("/api/voicemail/mailboxes/", {credentials: "same-origin"});
  const {mailboxes} = await r.json();
  const select = $("mailbox");
  const chosen = select.value;
  select.innerHTML = `<option value="">All my mailboxes</option>` + mailboxes.map((b) =>
    `<option value="${esc(b.mailbox)}">${esc(b.mailbox)} (${b.new} new, ${b.old} old)</option>`).join("");
  select.value = chosen;
}

async function loadMessages() {
  const params = new URLSearchParams();
  if ($("mailbox").value) params.set("mailbox", $("mailbox").value);
  if ($("show-heard").checked) params.set("heard", "1");
  const r = await fetch(`/api/voicemail/messages/?${params}`, {credentials: "same-origin"});
  const {messages} = await r.json();
  $("count").textContent = `${messages.length} message${messages.length === 1 ? "" : "s"}`;
  $("messages").querySelector("tbody").innerHTML = messages.map((m) => `
    <tr data-id="${m.id}" class="${m.heard ? "heard" : "new"}">
      <td>${esc(new Date(m.received_at).toLocaleString())}</td>
      <td>${esc(m.mailbox)}</td>
      <td>${esc(m.caller_name)} ${esc(m.caller_number || "unknown")}</td>
      <td>${Math.round(m.duration)} s</td>
      <td class="state">${m.heard ? "heard" : "new"}${m.forwarded_by ? ` · forwarded by ${esc(m.forwarded_by)}` : ""}</td>
      <td class="actions">
        <button data-act="play">Play</button>
        ${m.heard ? "" : `<button data-act="heard">Mark heard</button>`}
        <button data-act="delete">Delete</button>
        <input data-forward placeholder="agent:a1001 or queue:support" size="22" aria-label="forward to">
        <button data-act="forward">Forward</button>
      </td>
    </tr>`).join("");
}

async function refresh() {
  await loadMailboxes();
  await loadMessages();
}

$("messages").addEventListener("click", async (e) => {
  const act = e.target.dataset.act;
  if (!act) return;
  const row = e.target.closest("tr");
  const id = row.dataset.id;
  try {
    if (act === "play") {
      $("player-box").hidden = false;
      $("player-title").textContent = `Message ${id}: ${row.children[2].textContent.trim()}`;
      $("player").src = `/voicemail/messages/${id}/audio`;
      await $("player").play().catch(() => {});
      return;
    }
    if (act === "heard") await post(`/api/voicemail/messages/${id}/heard/`);
    if (act === "delete") await post(`/api/voicemail/messages/${id}/delete/`);
    if (act === "forward") {
      const target = row.querySelector("[data-forward]").value.trim();
      const copy = await post(`/api/voicemail/messages/${id}/forward/`, {target});
      $("result").textContent = `Forwarded to ${copy.mailbox}.`;
    } else {
      $("result").textContent = act === "heard" ? "Marked heard." : "Deleted.";
    }
    await refresh();
  } catch (err) {
    $("result").textContent = err.message;
  }
});
$("mailbox").addEventListener("change", loadMessages);
$("show-heard").addEventListener("change", loadMessages);
refresh();
