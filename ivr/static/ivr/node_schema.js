// The flow editor's node types: what the palette offers, the fields of the side panel and
// the exits each node has (the server validates the same rules at publish time).
"use strict";

const NODE_SCHEMA = {
  play: { label: "Play / say", fields: [
    ["text", "Say (text-to-speech; {expression} fills in values)", "textarea"],
    ["file", "Audio file (instead of, or with, the text)", "text"],
  ], exits: () => ["next"], summary: (p) => p.text || p.file || "" },
  menu: { label: "Menu", fields: [
    ["prompt", "Prompt", "textarea"],
    ["choices", "Keys (comma separated)", "list"],
    ["timeout", "Time-out (s)", "number"],
    ["retries", "Tries", "number"],
  ], exits: (p) => [...(p.choices || []), "timeout", "invalid"],
     summary: (p) => p.prompt || "" },
  collect: { label: "Collect digits", fields: [
    ["prompt", "Prompt", "textarea"], ["variable", "Store in variable", "text"],
    ["min_digits", "Minimum digits", "number"], ["max_digits", "Maximum digits", "number"],
    ["terminators", "End key", "text"], ["timeout", "Time-out (s)", "number"],
  ], exits: () => ["next", "timeout", "invalid"], summary: (p) => p.variable ? `→ ${p.variable}` : "" },
  record: { label: "Record", fields: [
    ["text", "Prompt", "textarea"], ["variable", "Store in variable", "text"],
    ["max_seconds", "Longest recording (s)", "number"],
  ], exits: () => ["next"], summary: (p) => p.variable ? `→ ${p.variable}` : "" },
  set: { label: "Set variable", fields: [
    ["variable", "Variable", "text"], ["value", "Value (expression)", "text"],
  ], exits: () => ["next"], summary: (p) => `${p.variable || "?"} = ${p.value || ""}` },
  condition: { label: "Condition", fields: [["expression", "If (expression)", "text"]],
    exits: () => ["true", "false"], summary: (p) => p.expression || "" },
  switch: { label: "Switch", fields: [
    ["value", "Value (expression)", "text"], ["cases", "Cases (comma separated)", "list"],
  ], exits: (p) => [...(p.cases || []), "default"], summary: (p) => p.value || "" },
  goto: { label: "Go to", fields: [], exits: () => ["next"], summary: () => "" },
  schedule: { label: "Schedule", fields: [["schedule", "Schedule name", "text"]],
    exits: () => ["open", "closed"], summary: (p) => p.schedule || "" },
  lookup: { label: "Data lookup", fields: [
    ["connector", "Connector", "text"], ["params", "Parameters (JSON: name → expression)", "json"],
    ["variable", "Store first field in", "text"], ["outputs", "Fields → variables (JSON)", "json"],
  ], exits: () => ["next", "not_found", "error"], summary: (p) => p.connector || "" },
  icm_value: { label: "Live ICM value", fields: [
    ["metric", "Metric", "select", ["queue_length", "agents_ready", "agents_logged_in", "expected_wait"]],
    ["queue", "Queue", "text"], ["variable", "Store in variable", "text"],
  ], exits: () => ["next", "error"], summary: (p) => `${p.metric || ""} ${p.queue || ""}` },
  subflow: { label: "Sub-flow", fields: [["flow", "Flow name", "text"]],
    exits: () => ["next", "error"], summary: (p) => p.flow || "" },
  return: { label: "Return", fields: [], exits: () => [], summary: () => "" },
  language: { label: "Language", fields: [
    ["languages", "Languages (comma separated, e.g. en, es)", "list"], ["prompt", "Prompt", "textarea"],
  ], exits: () => ["next"], summary: (p) => (p.languages || []).join(", ") },
  enter_queue: { label: "Queue", fields: [
    ["queue", "Queue", "text"], ["priority", "Priority (expression)", "text"],
    ["skills", "Skills (JSON: skill → level)", "json"], ["text", "Say first", "textarea"],
  ], exits: () => [], summary: (p) => p.queue || "" },
  transfer: { label: "Transfer", fields: [
    ["kind", "To", "select", ["extension", "agent", "number"]], ["target", "Number", "text"],
    ["text", "Say first", "textarea"],
  ], exits: () => [], summary: (p) => `${p.kind || "extension"} ${p.target || ""}` },
  voicemail: { label: "Voicemail", fields: [
    ["mailbox", "Mailbox (agent:<id>, queue:<name>, department:<name>)", "text"], ["text", "Greeting", "textarea"],
  ], exits: () => [], summary: (p) => p.mailbox || "" },
  hangup: { label: "Hang up", fields: [["text", "Goodbye", "textarea"], ["cause", "Cause", "text"]],
    exits: () => [], summary: (p) => p.text || "" },
};

// Optional exits a node may leave unconnected (the others must lead somewhere).
const OPTIONAL_EXITS = new Set(["timeout", "invalid", "error", "not_found", "default"]);
