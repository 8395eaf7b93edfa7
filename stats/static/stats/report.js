// A report page: the table and the chart (uPlot) drawn from the report's JSON — the same
// numbers the API and the exports give.
"use strict";

const report = JSON.parse(document.getElementById("report-data").textContent);
window.report = report;  // for the curious (and the browser tests)

function cell(value, kind) {
  if (value === null || value === undefined || value === "") return "–";
  if (kind === "pct") return `${Number(value).toFixed(1)}`;
  return String(value);
}

// Cells are text nodes, never HTML: a value (a queue name, a not-ready reason an agent
// chose) is shown as typed, whatever characters it holds (issue 18).
function td(text, kind, key) {
  const el = document.createElement("td");
  el.className = kind;
  if (key !== undefined) el.dataset.key = key;
  el.textContent = text;
  return el;
}

function tr(cells) {
  const row = document.createElement("tr");
  row.append(...cells);
  return row;
}

function table() {
  const body = document.querySelector("#report tbody");
  const foot = document.querySelector("#report tfoot");
  const cols = report.columns;
  body.replaceChildren(...report.rows.map((r) => tr(cols.map((c) => td(cell(r[c.key], c.kind), c.kind, c.key)))));
  if (!report.rows.length) {
    const none = td("No data for these filters.", "text");
    none.colSpan = cols.length;
    body.replaceChildren(tr([none]));
  }
  if (Object.keys(report.totals).length) {
    foot.replaceChildren(tr(cols.map((c, i) => td(i === 0 ? "Total" : cell(report.totals[c.key], c.kind),
      c.kind, c.key))));
  }
}

function chart() {
  const node = document.getElementById("chart");
  const spec = report.chart || {};
  if (typeof uPlot === "undefined" || !spec.x) return;
  const source = spec.bars || report.rows;
  const labels = source.map((r) => String(r[spec.x]));
  const xs = labels.map((_, i) => i);
  const keys = spec.bars ? Object.keys(source[0] || {}).filter((k) => k !== spec.x).map((k) => [k, k])
    : (spec.series || []);
  const colours = ["#1f6feb", "#1a7f37", "#cf222e", "#8250df"];
  const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({size: [0.6, 40]}) : undefined;
  const series = [{}, ...keys.map(([k, label], i) => ({label, stroke: colours[i % 4],
    fill: spec.bars ? colours[i % 4] + "99" : undefined, width: 2, paths: spec.bars ? bars : undefined}))];
  const data = [xs, ...keys.map(([k]) => source.map((r) => r[k] ?? null))];
  const axes = [{values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), space: 60}, {}];
  const scales = {x: {time: false}};
  if (spec.y2) {
    series.push({label: spec.y2[1], stroke: "#bf8700", width: 2, scale: "pct"});
    data.push(source.map((r) => r[spec.y2[0]] ?? null));
    axes.push({scale: "pct", side: 1, grid: {show: false}});
    scales.pct = {range: [0, 100]};
  }
  window.reportChart = new uPlot({width: Math.max(320, node.clientWidth || 800), height: 260,
    series, axes, scales}, data, node);
  node.dataset.points = String(xs.length);
  node.dataset.series = String(series.length - 1);
}

function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// BIZ-6: the abandoned callers of the chosen queue and days become a draft campaign
async function followUp(button) {
  const {queue, since, until} = button.dataset;
  const res = await fetch("/api/campaigns/follow-up/", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
    body: JSON.stringify({source: "abandoned", queue, since, until})});
  const data = await res.json();
  const out = document.getElementById("follow-up-result");
  if (!res.ok) { out.textContent = data.detail; return; }
  const link = document.createElement("a");
  link.href = new URL(data.url, location.href).pathname;  // a page of this site, never a script URL
  link.textContent = `${data.contacts} callers in a draft campaign`;
  out.replaceChildren(link);
}

document.addEventListener("DOMContentLoaded", () => {
  const follow = document.getElementById("follow-up");
  if (follow) follow.addEventListener("click", () => followUp(follow));
  if (!report) return;
  table();
  chart();
});
