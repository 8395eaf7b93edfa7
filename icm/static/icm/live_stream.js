// The live-event protocol, the page's side (the server's is icm/live_socket.py), shared by the
// live calls page, the agent desktop and the wallboard:
// - one WebSocket brings a `snapshot` frame (the page's whole state, `seq`: {switch: n}),
//   then numbered frames (`wseq` 1, 2, 3 …); a missing frame sends {"type": "resync"} and
//   the server answers with a fresh snapshot (so does `resync()`, when a page wants one);
// - `applyFrame(view, state, frame)` applies one event to a view's state, which keeps the
//   snapshot's shape: snapshot + the events after it = a fresh snapshot (tests/live
//   checks it for each desktop and wallboard action, running this very file under node).
// A classic script (window.ipbxLive) that node can also require.
"use strict";
(function (root) {
  const SETTLED = ["ready", "not_ready", "wrap_up"];  // states the desktop's history is re-read in

  function byUuid(list, call) { return list.findIndex((c) => c.call_uuid === call.call_uuid); }

  function putCall(list, call) {
    const at = byUuid(list, call);
    if (at >= 0) list[at] = call;
    else {
      list.push(call);
      list.sort((a, b) => a.created_at.localeCompare(b.created_at));
    }
  }

  function dropCall(list, call) {
    const at = byUuid(list, call);
    if (at >= 0) list.splice(at, 1);
  }

  // Each view: (state, frame) → what changed ({refresh: true}: the page also wants a fresh
  // snapshot, for what no event carries — the desktop's history after a contact).
  const VIEWS = {
    calls(state, ev) {   // state: {seq, switches: [{switch, seq, connected, status, calls}]}
      const sw = state.switches.find((s) => s.switch === ev.switch);
      if (!sw) return {};
      sw.seq = ev.seq;
      if (ev.type === "call.updated") putCall(sw.calls, ev.call);
      else if (ev.type === "call.ended") { dropCall(sw.calls, ev.call); return {ended: ev.call}; }
      else if (ev.type === "call.hidden") dropCall(sw.calls, ev.call);  // left the user's scope
      else if (ev.type === "switch.status") { sw.connected = ev.status.connected; sw.status = ev.status; }
      return {};
    },

    desktop(state, ev) {  // agents.desktop.snapshot's shape
      if (ev.type === "bulletin") {
        state.bulletins = [ev.data, ...(state.bulletins || []).filter((b) => b.id !== ev.data.id)];
        return {bulletin: ev.data};
      }
      if (ev.type === "voicemail") {  // a mailbox's whole state (IVR-7): the agent's own box
        const {agents, ...box} = ev.data;
        if (!state.voicemail || !state.voicemail.mailbox || state.voicemail.mailbox === box.mailbox) {
          state.voicemail = box;
        }
        return {voicemail: box};
      }
      if (ev.type === "agent.state") {
        state.state = ev.agent;
        // a contact is over (or the agent moved on): the history and my customers changed
        return {refresh: SETTLED.includes(ev.agent.state)};
      }
      if (ev.type === "call.updated") putCall(state.calls, ev.call);
      else if (ev.type === "call.ended") { dropCall(state.calls, ev.call); return {refresh: true}; }
      else if (ev.type === "switch.status") state.connected = ev.status.connected;
      else if (ev.type === "queue.stats") {
        state.queues = state.queues.map((q) => ({...q, ...(ev.data.queues[q.name] || {})}));
      }
      return {};
    },

    wallboard(state, ev) {  // supervision.wallboard.snapshot's shape
      if (ev.type === "agent.state") {
        const row = state.agents.find((a) => a.agent === ev.agent.agent);
        if (row) Object.assign(row, ev.agent);
        return {agent: row};
      }
      if (ev.type === "queue.stats") {
        for (const [name, tile] of Object.entries(ev.queues)) {
          const row = state.queues.find((q) => q.name === name);
          if (row) Object.assign(row, tile);
        }
        return {};
      }
      if (ev.type === "alarm") {
        const {raised, at, ...alarm} = ev.alarm;
        const known = state.alarms.findIndex((a) => a.key === alarm.key);
        if (raised && known >= 0) state.alarms[known] = alarm;
        else if (raised) state.alarms.push(alarm);
        else if (known >= 0) state.alarms.splice(known, 1);
        return {alarm: ev.alarm, isNew: raised && known < 0};
      }
      if (ev.type === "gateway.state") {
        const {gateway, ...gw} = ev.gateway;
        const row = state.gateways.find((g) => g.name === gateway);
        if (row) Object.assign(row, gw);
        else state.gateways.push({name: gateway, enabled: true, max_channels: null, ...gw});
        return {};
      }
      if (ev.type === "switch.status") state.switches[ev.switch] = ev.status;
      return {};
    },
  };

  function applyFrame(view, state, frame) {
    if (typeof frame.seq === "number" && typeof frame.switch === "string" && state.seq) {
      state.seq[frame.switch] = frame.seq;
    }
    return VIEWS[view](state, frame) || {};
  }

  // The socket. `counters` (optional) is where it keeps frames / snapshots / resyncs /
  // lastWseq (the wallboard shows its own to the curious). Callbacks: onSnapshot(state),
  // onEvent(frame, change, state), onMessage(frame) for frames outside the stream (replies,
  // refusals …), onOpen(), onClose(event) → true to stay closed; query() → the URL's query.
  class LiveStream {
    constructor(options) {
      this.options = options;
      this.counters = options.counters || {};
      Object.assign(this.counters, {frames: 0, snapshots: 0, resyncs: 0, lastWseq: 0, ...this.counters});
      this.state = null;
      this.socket = null;
      this.retry = 0;
      this.stopped = false;
    }

    connect() {
      const query = this.options.query ? this.options.query() : "";
      const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}${this.options.path}${query}`);
      this.socket = ws;
      ws.onopen = () => {
        this.retry = 0;
        this.counters.lastWseq = 0;
        if (this.options.onOpen) this.options.onOpen(ws);
      };
      ws.onmessage = (msg) => this.receive(JSON.parse(msg.data));
      ws.onclose = (ev) => {
        if (this.socket !== ws) return;
        if (this.stopped || (this.options.onClose && this.options.onClose(ev))) return;
        this.retry = Math.min(this.retry + 1, 6);
        setTimeout(() => { if (!this.stopped) this.connect(); }, 250 * 2 ** this.retry);
      };
      return ws;
    }

    receive(frame) {
      const c = this.counters;
      if (typeof frame.wseq !== "number") {   // outside the stream: replies, refusals, pongs
        if (this.options.onMessage) this.options.onMessage(frame);
        return;
      }
      if (frame.type !== "snapshot" && frame.wseq !== c.lastWseq + 1) {
        c.resyncs += 1;                          // a frame went missing: start again from a snapshot
        c.lastWseq = frame.wseq;
        this.resync();
        return;
      }
      c.lastWseq = frame.wseq;
      c.frames += 1;
      if (frame.type === "snapshot") {
        c.snapshots += 1;
        this.state = frame;
        this.options.onSnapshot(frame);
        return;
      }
      if (!this.state) return;
      const change = applyFrame(this.options.view, this.state, frame);
      if (this.options.onEvent) this.options.onEvent(frame, change, this.state);
    }

    send(frame) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(frame));
        return true;
      }
      return false;
    }

    resync() { return this.send({type: "resync"}); }

    get open() { return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN); }
  }

  const api = {applyFrame, LiveStream, VIEWS};
  root.ipbxLive = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
