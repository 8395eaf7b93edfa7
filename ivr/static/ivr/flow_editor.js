// The graphical IVR flow editor (IVR-5): a palette of node types dragged onto a Drawflow
// canvas, exits connected to nodes, parameters edited in the side panel; validate, save a
// draft, publish, version history with diff and rollback, and a text simulator.
// The flow graph format is the server's ({start, nodes: {id: {type, …, exits}}, layout}).
"use strict";

const FLOW = document.body.dataset.flow;
const CAN_DRAFT = document.body.dataset.canDraft === "1";
const CAN_PUBLISH = document.body.dataset.canPublish === "1";
const API = `/api/ivr/flows/${FLOW}/`;
const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;

const editor = new Drawflow(document.getElementById("canvas"));
editor.reroute = false;
editor.start();

let startId = "";      // our id of the start node
let selected = null;   // Drawflow id of the node in the side panel
let loaded = null;     // {number, status} of the version on screen
let dirty = false;

// --- talking to the server ---------------------------------------------------------------
async function call(method, url, body) {
  const r = await fetch(url, {
    method, credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { data = {detail: r.statusText}; }
  if (!r.ok) { const err = new Error(data.detail || r.statusText); err.data = data; throw err; }
  return data;
}

function status(text, kind = "info") {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = kind;
}

// --- nodes on the canvas -----------------------------------------------------------------
function exitsOf(meta) {
  return NODE_SCHEMA[meta.type] ? NODE_SCHEMA[meta.type].exits(meta.params) : ["next"];
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}

function summaryOf(meta) {
  const s = NODE_SCHEMA[meta.type] ? NODE_SCHEMA[meta.type].summary(meta.params) : "";
  return typeof s === "string" ? s : JSON.stringify(s);
}

function nodeHtml(meta) {
  const label = NODE_SCHEMA[meta.type] ? NODE_SCHEMA[meta.type].label : meta.type;
  return `<div class="node-box" data-node-id="${escapeHtml(meta.id)}">
    <div class="node-title">${escapeHtml(label)}<span class="node-id">${escapeHtml(meta.id)}</span></div>
    <div class="node-summary">${escapeHtml(summaryOf(meta).slice(0, 80))}</div></div>`;
}

function labelOutputs(did, meta) {
  const el = document.getElementById(`node-${did}`);
  if (!el) return;
  el.classList.toggle("start", meta.id === startId);
  exitsOf(meta).forEach((name, k) => {
    const out = el.querySelector(`.outputs .output_${k + 1}`);
    if (out) { out.dataset.exit = name; out.title = `exit ${name}`; }
  });
}

function newId(type) {
  const taken = new Set(Object.values(allNodes()).map((n) => n.data.id));
  let n = 1;
  while (taken.has(`${type}${n}`)) n += 1;
  return `${type}${n}`;
}

function allNodes() { return editor.export().drawflow.Home.data; }

function addNode(type, x, y, meta) {
  meta = meta || {id: newId(type), type, params: defaults(type)};
  const inputs = 1;
  const did = editor.addNode(meta.type, inputs, exitsOf(meta).length, x, y, `ivr-${meta.type}`,
                             meta, nodeHtml(meta));
  if (!startId) startId = meta.id;
  labelOutputs(did, meta);
  dirty = true;
  return did;
}

function defaults(type) {
  return {menu: {prompt: "", choices: ["1", "2"]}, language: {languages: ["en", "es"]},
          transfer: {kind: "extension"}, icm_value: {metric: "agents_ready"}}[type] || {};
}

// Rebuild a node whose exits changed (menu keys, switch cases), keeping its connections.
function rebuild(did) {
  const node = editor.getNodeFromId(did);
  const meta = node.data;
  const byName = {};
  const previous = meta._exits || [];
  Object.keys(node.outputs).forEach((key, k) => {
    byName[previous[k]] = node.outputs[key].connections.map((c) => c.node);
  });
  const incoming = [];
  Object.values(node.inputs).forEach((input) => input.connections.forEach((c) =>
    incoming.push([c.node, c.input])));
  const [x, y] = [node.pos_x, node.pos_y];
  editor.removeNodeId(`node-${did}`);
  const fresh = editor.addNode(meta.type, 1, exitsOf(meta).length, x, y, `ivr-${meta.type}`,
                               meta, nodeHtml(meta));
  exitsOf(meta).forEach((name, k) => (byName[name] || []).forEach((target) =>
    editor.addConnection(fresh, target, `output_${k + 1}`, "input_1")));
  incoming.forEach(([from, output]) => editor.addConnection(from, fresh, output, "input_1"));
  remember(fresh);
  return fresh;
}

// Keep the exit names a node had when its outputs were made (to rebuild it later).
function remember(did) {
  const node = editor.getNodeFromId(did);
  const meta = {...node.data, _exits: exitsOf(node.data)};
  editor.updateNodeDataFromId(did, meta);
  labelOutputs(did, meta);
}

// --- the flow graph <-> the canvas -------------------------------------------------------
function buildGraph() {
  const data = allNodes();
  const graph = {start: startId, nodes: {}, layout: {}};
  for (const node of Object.values(data)) {
    const meta = node.data;
    const exits = {};
    exitsOf(meta).forEach((name, k) => {
      const out = node.outputs[`output_${k + 1}`];
      if (out && out.connections.length) exits[name] = data[out.connections[0].node].data.id;
    });
    for (const [name, target] of Object.entries(meta.extraExits || {})) {
      // exits the canvas does not draw (e.g. an `error` exit written by hand) are kept
      if (!(name in exits) && Object.values(data).some((n) => n.data.id === target)) exits[name] = target;
    }
    const params = {...meta.params};
    delete params.choices; delete params.cases;
    const entry = {type: meta.type, ...params};
    if (Object.keys(exits).length || exitsOf(meta).length) entry.exits = exits;
    graph.nodes[meta.id] = entry;
    graph.layout[meta.id] = [Math.round(node.pos_x), Math.round(node.pos_y)];
  }
  if (loaded && loaded.onError) graph.on_error = loaded.onError;
  return graph;
}

// Where to draw nodes the graph has no position for: columns by distance from the start.
function autoLayout(graph) {
  const nodes = graph.nodes || {};
  const depth = {};
  const queue = [graph.start, graph.on_error].filter((id) => id && nodes[id]);
  queue.forEach((id) => { depth[id] = 0; });
  while (queue.length) {
    const id = queue.shift();
    for (const target of Object.values(nodes[id].exits || {})) {
      if (nodes[target] && depth[target] === undefined) {
        depth[target] = depth[id] + 1;
        queue.push(target);
      }
    }
  }
  const rows = {};
  const layout = {};
  for (const id of Object.keys(nodes)) {
    const d = depth[id] === undefined ? Math.max(0, ...Object.values(depth)) + 1 : depth[id];
    rows[d] = (rows[d] || 0) + 1;
    layout[id] = [40 + d * 270, 30 + (rows[d] - 1) * 150];
  }
  return layout;
}

function loadGraph(graph) {
  editor.clear();
  startId = graph.start || "";
  const layout = {...autoLayout(graph), ...(graph.layout || {})};
  const dids = {};
  Object.entries(graph.nodes || {}).forEach(([id, node], i) => {
    const {type, exits, ...params} = node;
    const keys = Object.keys(exits || {});
    if (type === "menu") params.choices = keys.filter((k) => !["timeout", "invalid", "error"].includes(k));
    if (type === "switch") params.cases = keys.filter((k) => !["default", "error"].includes(k));
    const [x, y] = layout[id] || [60 + (i % 4) * 260, 60 + Math.floor(i / 4) * 170];
    const drawn = new Set(exitsOf({type, params}));
    const extraExits = Object.fromEntries(Object.entries(exits || {}).filter(([k]) => !drawn.has(k)));
    dids[id] = addNode(type, x, y, {id, type, params, extraExits});
    remember(dids[id]);
  });
  Object.entries(graph.nodes || {}).forEach(([id, node]) => {
    const meta = editor.getNodeFromId(dids[id]).data;
    exitsOf(meta).forEach((name, k) => {
      const target = (node.exits || {})[name];
      if (target && dids[target]) editor.addConnection(dids[id], dids[target], `output_${k + 1}`, "input_1");
    });
  });
  Object.values(dids).forEach((did) => labelOutputs(did, editor.getNodeFromId(did).data));
  dirty = false;
}

// --- palette: drag a node type onto the canvas -------------------------------------------
function buildPalette() {
  const palette = document.getElementById("palette");
  for (const [type, schema] of Object.entries(NODE_SCHEMA)) {
    const item = document.createElement("div");
    item.className = "palette-item";
    item.draggable = true;
    item.dataset.type = type;
    item.textContent = schema.label;
    item.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("text/plain", type));
    item.addEventListener("dblclick", () => select(addNode(type, 80, 80)));
    palette.appendChild(item);
  }
  const canvas = document.getElementById("canvas");
  canvas.addEventListener("dragover", (ev) => ev.preventDefault());
  canvas.addEventListener("drop", (ev) => {
    ev.preventDefault();
    const type = ev.dataTransfer.getData("text/plain");
    if (!NODE_SCHEMA[type]) return;
    const rect = editor.precanvas.getBoundingClientRect();
    const x = (ev.clientX - rect.x) / editor.zoom;
    const y = (ev.clientY - rect.y) / editor.zoom;
    select(addNode(type, x, y));
  });
}

// --- the side panel ----------------------------------------------------------------------
function fieldValue(kind, value) {
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value);
  if (kind === "list") return (value || []).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function parseField(kind, text) {
  if (kind === "textarea" && /^\s*\{/.test(text)) return JSON.parse(text);  // {"en": …, "es": …}
  if (kind === "number") return text === "" ? undefined : Number(text);
  if (kind === "list") return text.split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "json") return text.trim() ? JSON.parse(text) : undefined;
  return text === "" ? undefined : text;
}

function select(did) {
  selected = did;
  const panel = document.getElementById("properties");
  const node = editor.getNodeFromId(did);
  const meta = node.data;
  const schema = NODE_SCHEMA[meta.type] || {fields: [], label: meta.type};
  panel.innerHTML = `<h2>${escapeHtml(schema.label)} <small>${escapeHtml(meta.id)}</small></h2>`;
  const form = document.createElement("form");
  form.id = "node-form";
  for (const [name, label, kind, options] of schema.fields) {
    const wrap = document.createElement("label");
    wrap.textContent = label;
    let input;
    if (kind === "textarea") input = document.createElement("textarea");
    else if (kind === "select") {
      input = document.createElement("select");
      options.forEach((o) => input.add(new Option(o, o)));
    } else input = document.createElement("input");
    input.name = name;
    input.dataset.kind = kind;
    input.value = fieldValue(kind, meta.params[name]);
    if (kind === "select" && !meta.params[name]) input.value = options[0];
    input.addEventListener("change", () => applyField(input));
    wrap.appendChild(input);
    form.appendChild(wrap);
    if (name === "file") {
      input.setAttribute("list", "prompt-list");
      form.appendChild(promptUpload(input));
    }
  }
  const startBtn = document.createElement("button");
  startBtn.type = "button";
  startBtn.id = "btn-start-here";
  startBtn.textContent = meta.id === startId ? "This is the start node" : "Start the flow here";
  startBtn.disabled = meta.id === startId;
  startBtn.addEventListener("click", () => { startId = meta.id; refreshAll(); select(did); });
  form.appendChild(startBtn);
  panel.appendChild(form);
}

// --- uploaded prompts: pick one for a file field, upload a WAV, listen to it --------------
async function loadPrompts() {
  let list = document.getElementById("prompt-list");
  if (!list) {
    list = document.createElement("datalist");
    list.id = "prompt-list";
    document.body.appendChild(list);
  }
  try {
    const prompts = await call("GET", "/api/ivr/prompts/");
    list.innerHTML = "";
    prompts.forEach((p) => list.appendChild(new Option(p.transcript || p.name, p.file)));
  } catch (e) { /* no permission to list prompts: the field still takes a path */ }
}

function promptUpload(fileInput) {
  const box = document.createElement("div");
  box.className = "prompt-upload";
  box.innerHTML = `<label>Upload a prompt (WAV, mono 16-bit)
      <input type="file" accept=".wav,audio/wav" id="prompt-file"></label>
    <label>Prompt name <input id="prompt-name" pattern="[-a-z0-9_]+"></label>
    <button type="button" id="prompt-send">Upload</button>
    <audio id="prompt-audio" controls hidden></audio>`;
  const chosen = box.querySelector("#prompt-file");
  chosen.addEventListener("change", () => {
    const base = (chosen.files[0] ? chosen.files[0].name : "").replace(/\.wav$/i, "");
    box.querySelector("#prompt-name").value = base.toLowerCase().replace(/[^-a-z0-9_]+/g, "-");
  });
  box.querySelector("#prompt-send").addEventListener("click", async () => {
    if (!chosen.files[0]) { status("Choose a WAV file first.", "error"); return; }
    const form = new FormData();
    form.append("file", chosen.files[0]);
    form.append("name", box.querySelector("#prompt-name").value);
    const textField = document.querySelector("#node-form [name=text]");
    form.append("transcript", textField ? textField.value : "");
    const r = await fetch("/api/ivr/prompts/", {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf()}, body: form});
    const body = await r.json();
    if (!r.ok) { status(`Upload refused: ${body.detail}`, "error"); return; }
    fileInput.value = body.file;
    applyField(fileInput);
    await loadPrompts();
    showPromptAudio(box, body.file);
    status(`Prompt ${body.name} uploaded (${body.duration_seconds} s).`, "ok");
  });
  showPromptAudio(box, fileInput.value);
  return box;
}

function showPromptAudio(box, file) {
  const audio = box.querySelector("#prompt-audio");
  if (file && file.startsWith("prompt:")) {
    audio.src = `/api/ivr/prompts/${encodeURIComponent(file.slice(7))}/audio/`;
    audio.hidden = false;
  }
}

function applyField(input) {
  if (selected === null) return;
  const node = editor.getNodeFromId(selected);
  const meta = {...node.data, params: {...node.data.params}};
  try {
    const value = parseField(input.dataset.kind, input.value);
    if (value === undefined) delete meta.params[input.name]; else meta.params[input.name] = value;
    input.classList.remove("bad");
  } catch (e) {
    input.classList.add("bad");
    status(`${input.name}: not valid JSON`, "error");
    return;
  }
  const before = exitsOf(node.data).join("|");
  editor.updateNodeDataFromId(selected, meta);
  dirty = true;
  if (exitsOf(meta).join("|") !== before) {
    selected = rebuild(selected);
  } else {
    const box = document.querySelector(`#node-${selected} .node-summary`);
    if (box) box.textContent = summaryOf(meta).slice(0, 80);
    remember(selected);
  }
}

function refreshAll() {
  for (const [did, node] of Object.entries(allNodes())) labelOutputs(did, node.data);
}

editor.on("nodeSelected", (did) => select(did));
editor.on("nodeRemoved", () => { selected = null; dirty = true; });
editor.on("connectionCreated", (c) => {
  // one exit leads to one node: a new connection replaces the old one
  const out = editor.getNodeFromId(c.output_id).outputs[c.output_class];
  out.connections.filter((x) => x.node !== c.input_id).forEach((x) =>
    editor.removeSingleConnection(c.output_id, x.node, c.output_class, x.input));
  dirty = true;
});
editor.on("connectionRemoved", () => { dirty = true; });

// --- validate, save, publish --------------------------------------------------------------
function showProblems(problems) {
  const section = document.getElementById("problems");
  const list = section.querySelector("ul");
  list.innerHTML = "";
  document.querySelectorAll(".drawflow-node.invalid").forEach((el) => el.classList.remove("invalid"));
  section.hidden = !problems.length;
  for (const p of problems) {
    const li = document.createElement("li");
    li.textContent = p.node ? `${p.node}: ${p.message}` : p.message;
    list.appendChild(li);
    const box = document.querySelector(`.node-box[data-node-id="${CSS.escape(p.node)}"]`);
    if (box) box.closest(".drawflow-node").classList.add("invalid");
  }
}

async function validate() {
  const result = await call("POST", `${API}validate/`, {graph: buildGraph()});
  showProblems(result.problems);
  status(result.valid ? "The flow is valid." : `${result.problems.length} problem(s).`,
         result.valid ? "ok" : "error");
  return result.valid;
}

async function saveDraft() {
  const version = await call("POST", `${API}versions/`, {graph: buildGraph()});
  loaded = {number: version.number, status: version.status, onError: loaded && loaded.onError};
  dirty = false;
  showProblems(version.problems);
  setLabel();
  status(`Saved draft version ${version.number}.`, "ok");
  return version;
}

async function publish() {
  if (!(await validate())) return;
  const version = dirty || !loaded || loaded.status !== "draft" ? await saveDraft() : loaded;
  try {
    const published = await call("POST", `${API}versions/${version.number}/publish/`);
    loaded = {...loaded, number: published.number, status: published.status};
    setLabel();
    status(`Published version ${published.number}: new calls use it now.`, "ok");
  } catch (e) {
    showProblems((e.data && e.data.problems) || []);
    status(`Not published: ${e.message}`, "error");
  }
}

function setLabel() {
  const label = document.getElementById("version-label");
  label.textContent = loaded ? `v${loaded.number} · ${loaded.status}` : "new flow";
  label.dataset.status = loaded ? loaded.status : "";
}

// --- history: versions, diff, rollback ------------------------------------------------------
async function showHistory() {
  const section = document.getElementById("history");
  section.hidden = !section.hidden;
  if (section.hidden) return;
  const flow = await call("GET", API);
  const list = section.querySelector("ul");
  list.innerHTML = "";
  for (const v of flow.versions) {
    const li = document.createElement("li");
    li.dataset.version = v.number;
    li.innerHTML = `<b>v${v.number}</b> ${escapeHtml(v.status)} <small>${escapeHtml(v.created_by || "")}
      ${new Date(v.created_at).toLocaleString()}</small> `;
    const open = button("Open", () => openVersion(v.number));
    li.appendChild(open);
    if (v.number > 1) li.appendChild(button("Diff", () => showDiff(v.number - 1, v.number)));
    if (CAN_PUBLISH && v.status !== "published") {
      li.appendChild(button("Roll back to this", () => rollback(v.number)));
    }
    list.appendChild(li);
  }
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

async function showDiff(from, to) {
  const d = await call("GET", `${API}diff/?from=${from}&to=${to}`);
  const parts = [`<h3>v${from} → v${to}</h3>`];
  if (d.start) parts.push(`<p>start: ${escapeHtml(d.start[0])} → ${escapeHtml(d.start[1])}</p>`);
  d.added.forEach((n) => parts.push(`<p class="added">+ ${escapeHtml(n)}</p>`));
  d.removed.forEach((n) => parts.push(`<p class="removed">− ${escapeHtml(n)}</p>`));
  for (const [node, keys] of Object.entries(d.changed)) {
    for (const [key, [a, b]] of Object.entries(keys)) {
      parts.push(`<p class="changed">~ ${escapeHtml(node)}.${escapeHtml(key)}: ` +
        `${escapeHtml(JSON.stringify(a))} → ${escapeHtml(JSON.stringify(b))}</p>`);
    }
  }
  if (parts.length === 1) parts.push("<p>No differences.</p>");
  document.getElementById("diff").innerHTML = parts.join("");
}

async function rollback(number) {
  const v = await call("POST", `${API}versions/${number}/rollback/`);
  await openVersion(v.number);
  status(`Version ${number} is published again as version ${v.number}.`, "ok");
  document.getElementById("history").hidden = true;
  showHistory();
}

async function openVersion(number) {
  const v = await call("GET", `${API}versions/${number}/`);
  loadGraph(v.graph);
  loaded = {number: v.number, status: v.status, onError: v.graph.on_error};
  setLabel();
}

// --- simulator ------------------------------------------------------------------------------
let simSession = null;

function simLine(text, who) {
  const p = document.createElement("p");
  p.className = `sim-${who}`;
  p.textContent = text;
  document.getElementById("sim-log").appendChild(p);
}

function simShow(reply) {
  simSession = reply.session;
  reply.messages.forEach((m) => simLine(m, "ivr"));
  document.querySelectorAll(".drawflow-node.current").forEach((el) => el.classList.remove("current"));
  const box = document.querySelector(`.node-box[data-node-id="${CSS.escape(reply.node || "")}"]`);
  if (box) box.closest(".drawflow-node").classList.add("current");
  if (reply.finished) {
    simLine(`Finished: ${reply.outcome.action} ${JSON.stringify(reply.outcome.params)}`, "end");
    simSession = null;
  }
}

async function simStart() {
  document.getElementById("sim-log").innerHTML = "";
  const variables = {ani: document.getElementById("sim-ani").value,
                     customer_grade: document.getElementById("sim-grade").value};
  try {
    simShow(await call("POST", `${API}simulate/`, {graph: buildGraph(), variables}));
  } catch (e) { simLine(e.message, "end"); }
}

async function simSend(ev) {
  ev.preventDefault();
  const input = document.getElementById("sim-input");
  if (!simSession) return;
  simLine(input.value, "user");
  const text = input.value;
  input.value = "";
  try {
    simShow(await call("POST", `${API}simulate/`, {session: simSession, input: text}));
  } catch (e) { simLine(e.message, "end"); }
}

// --- start-up -----------------------------------------------------------------------------
function guard(fn) {
  return async () => { try { await fn(); } catch (e) { status(e.message, "error"); } };
}

buildPalette();
loadPrompts();
document.getElementById("btn-validate").addEventListener("click", guard(validate));
document.getElementById("btn-save").addEventListener("click", guard(saveDraft));
document.getElementById("btn-publish").addEventListener("click", guard(publish));
document.getElementById("btn-history").addEventListener("click", guard(showHistory));
document.getElementById("btn-simulate").addEventListener("click", () => {
  const s = document.getElementById("simulator");
  s.hidden = !s.hidden;
});
document.getElementById("sim-start").addEventListener("click", simStart);
document.getElementById("sim-form").addEventListener("submit", simSend);
document.getElementById("btn-save").disabled = !CAN_DRAFT;
document.getElementById("btn-publish").disabled = !CAN_PUBLISH;
window.addEventListener("beforeunload", (ev) => { if (dirty) ev.preventDefault(); });

(async () => {
  const flow = await call("GET", API);
  const latest = flow.versions[0];
  if (latest) await openVersion(flow.published || latest.number);
  setLabel();
  document.body.dataset.ready = "1";
})().catch((e) => status(e.message, "error"));
