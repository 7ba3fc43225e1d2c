// Live view of a session: every visible dreamer side by side with traces, stage, hypnogram, event and
// cue log, messages, and (for operators) the controls. Fed by the session WebSocket.
import { api, clock, el, header, stageLegend, toast, STAGE_COLORS, STAGE_NAMES } from "/ui/static/common.js";
import { SignalRing, drawTraces } from "/ui/static/traces.js";
import { StageTrack, drawHypnogram } from "/ui/static/hypnogram.js";

const sid = location.pathname.split("/").filter(Boolean).pop();
const params = new URLSearchParams(location.search);
const me = await header();
const ctx = await api(`/ui/api/sessions/${sid}/context`);
const observe = params.get("mode") === "observe" || ctx.role !== "operator";
document.body.classList.toggle("observe", observe);
document.getElementById("session-title").textContent = ctx.session.name || sid;
document.getElementById("mode-badge").textContent = observe ? "read-only observer view" : "operator";
document.getElementById("legend").append(stageLegend());
document.title = `dreamlink — ${ctx.session.name || sid}`;
if (ctx.design) document.getElementById("design-info").textContent = `design: ${ctx.design.name}`;

const CUE_TYPES = new Set(["cue", "cue_request", "cue_refused", "relay_in", "relay_delivered"]);
const MSG_TYPES = new Set(["message", "relay_sent", "relay_queued", "relay_delivered", "relay_ack", "relay_expired", "relay_revised", "relay_in"]);
const DETECT_TYPES = new Set(["rem", "lrlr", "eye_sweep", "rem_entry", "arousal", "wake", "count", "emg_twitch", "message"]);
// frequent detections shown under "detections" only, so they do not push cues out of the log
const QUIET_TYPES = new Set(["rem", "eye_sweep"]);
const MARKER_TYPES = new Set(["rem", "rem_entry", "arousal", "wake", "cue", "cue_request", "lrlr", "relay_in", "note"]);

const view = {
  windowSec: 30,
  gain: 0,
  selected: 0,
  panels: new Map(),   // name -> panel
  relays: new Map(),   // relay id -> relay row
  perf: { frames: [], work: [] },
};
window.dlPerf = view.perf;
window.dlView = view;

// ------------------------------------------------------------------------------------- panels
function makePanel(d, index) {
  const node = document.getElementById("dreamer-template").content.firstElementChild.cloneNode(true);
  node.dataset.dreamer = d.name;
  node.setAttribute("aria-label", `dreamer ${d.name}`);
  node.querySelector(".dreamer-name").textContent = `${index + 1}. ${d.name}`;
  const p = {
    name: d.name, node, ring: new SignalRing(), stages: new StageTrack(), markers: [],
    seenSeq: new Set(), seenServer: new Set(), log: node.querySelector(".log"),
    messages: node.querySelector(".messages"), traces: node.querySelector(".traces"),
    hypno: node.querySelector(".hypno"), hypnoDirty: true, filter: "all", wakeArmed: 0,
  };
  setConn(p, !!d.connected);
  setReady(p, !!d.ready);
  if (d.stage && d.stage !== "?") setStage(p, d.stage, null);
  if (!d.visible) {
    node.classList.add("hidden-data");
    node.querySelector(".traces").replaceWith(el("p", { class: "muted", text: `${d.name} has not granted you access to their data.` }));
    node.querySelector(".hypno").remove();
    node.querySelector(".panes").remove();
    node.querySelector(".controls").remove();
    return p;
  }
  node.querySelector(".log-filter").addEventListener("change", (ev) => { p.filter = ev.target.value; applyFilter(p); });
  if (observe) {
    node.querySelector(".controls").remove();
  } else {
    wireControls(p);
  }
  node.addEventListener("focusin", () => select(index));
  node.addEventListener("click", () => select(index));
  return p;
}

function setConn(p, on) {
  p.online = on;
  const c = p.node.querySelector(".conn");
  c.textContent = on ? "● rig online" : "○ rig offline";
  c.className = `conn ${on ? "on" : "off"}`;
}
function setReady(p, ready) {
  const r = p.node.querySelector(".ready");
  r.textContent = ready ? "ready ✓" : "";
}
function setStage(p, stage, conf) {
  const b = p.node.querySelector(".stage-badge");
  b.style.background = STAGE_COLORS[stage] || STAGE_COLORS["?"];
  b.style.color = stage === "N3" || stage === "N2" ? "#fff" : "#000";
  b.querySelector(".stage-text").textContent = STAGE_NAMES[stage] || stage;
  b.querySelector(".stage-conf").textContent = conf === null || conf === undefined ? "" : `${Math.round(conf * 100)} %`;
  b.dataset.stage = stage;
}

function kindClass(t) {
  if (CUE_TYPES.has(t)) return "k-cue";
  if (MSG_TYPES.has(t)) return "k-msg";
  if (DETECT_TYPES.has(t)) return "k-detect";
  return "k-other";
}
function filterMatch(filter, t) {
  if (filter === "all") return !QUIET_TYPES.has(t);
  if (filter === "cues") return CUE_TYPES.has(t) || t === "cue_refused";
  if (filter === "messages") return MSG_TYPES.has(t);
  return DETECT_TYPES.has(t);
}
function applyFilter(p) {
  for (const li of p.log.children) li.hidden = !filterMatch(p.filter, li.dataset.type);
}

function describe(ev) {
  let v = ev.value;
  if (v === null || v === undefined) v = "";
  const d = ev.data || {};
  let extra = "";
  if (ev.trial_type === "cue_refused") extra = d.message || d.reason || "";
  else if (ev.trial_type === "cue_request") extra = `${d.kind || ""} ${d.level_db !== undefined ? d.level_db + " dB" : ""}`;
  else if (d.sender && ev.trial_type.startsWith("relay")) extra = `${d.sender} → ${d.recipient}`;
  else if (d.mode) extra = d.mode;
  else if (d.author) extra = `by ${d.author}`;
  else if (d.operator) extra = `by ${d.operator}`;
  return [String(v), extra].filter(Boolean).join(" · ");
}

function addEvent(p, ev, live) {
  if (!ev || !ev.trial_type) return;
  if (ev.seq !== undefined && ev.seq !== null) {
    if (p.seenSeq.has(ev.seq)) return;
    p.seenSeq.add(ev.seq);
  } else {
    const key = `${ev.trial_type}|${ev.onset}|${JSON.stringify(ev.value)}|${(ev.data || {}).relay_id ?? ""}`;
    if (p.seenServer.has(key)) return;
    p.seenServer.add(key);
  }
  if (ev.trial_type === "stage") {
    if (p.stages.add(ev)) {
      p.hypnoDirty = true;
      const cur = p.stages.current;
      if (cur) setStage(p, cur.stage, cur.confidence);
    }
    return;
  }
  if (MARKER_TYPES.has(ev.trial_type)) { p.markers.push({ t: ev.onset, kind: ev.trial_type }); p.hypnoDirty = true; }
  if (ev.trial_type === "cue_refused" && live) toast(`cue refused for ${p.name}: ${(ev.data || {}).message || ""}`, "error");
  const li = el("li", { class: `ev ${kindClass(ev.trial_type)}`, "data-type": ev.trial_type },
    el("time", { text: clock(ev.onset) }), " ", el("b", { text: ev.trial_type }), " ", el("span", { text: describe(ev) }));
  li.hidden = !filterMatch(p.filter, ev.trial_type);
  p.log.prepend(li);
  if (QUIET_TYPES.has(ev.trial_type)) {
    li.dataset.quiet = "1";
    const quiet = p.log.querySelectorAll("li[data-quiet]");
    if (quiet.length > 150) quiet[quiet.length - 1].remove();
  }
  while (p.log.children.length > 500) p.log.lastElementChild.remove();
}

function renderRelay(relay) {
  view.relays.set(relay.id, relay);
  for (const p of view.panels.values()) {
    if (!p.messages) continue;
    const mine = relay.recipient === p.name || (relay.sender_kind === "dreamer" && relay.sender === p.name);
    if (!mine) continue;
    const incoming = relay.recipient === p.name;
    let li = p.messages.querySelector(`li[data-relay="${relay.id}"]`);
    if (!li) {
      li = el("li", { "data-relay": String(relay.id) });
      p.messages.prepend(li);
    }
    li.dataset.status = relay.status;
    const dir = incoming ? `← from ${relay.sender}${relay.sender_kind === "operator" ? " (operator)" : ""}` : `→ to ${relay.recipient}`;
    const mark = { queued: "⏳ queued", delivered: "📨 delivered", acked: "✓ acknowledged", expired: "✗ expired", superseded: "↺ replaced by a revision" }[relay.status] || relay.status;
    const revision = relay.revises_id ? el("span", { class: "muted", text: "(revision)" }) : "";
    li.replaceChildren(el("span", { class: "dir", text: dir }), " ", el("q", { text: relay.text }), " ", revision, " ", el("span", { class: `status s-${relay.status}`, text: mark }));
  }
}

// ------------------------------------------------------------------------------------- controls
function capText(kind) {
  for (const [modality, cap] of Object.entries(ctx.caps)) {
    if (cap.kinds.includes(kind)) return `cap: ${modality} ≤ ${cap.max_db >= 0 ? "+" : ""}${cap.max_db.toFixed(1)} dB re threshold (${cap.max_dbfs.toFixed(1)} dBFS)`;
  }
  return "";
}

async function control(p, action) {
  try {
    const r = await api(`/ui/api/sessions/${sid}/dreamers/${encodeURIComponent(p.name)}/control`, { method: "POST", body: { action } });
    const later = ["start", "pause", "abort"].includes(action)
      ? " (rig offline: delivered when it reconnects)"
      : " (rig offline: delivered if it reconnects within a minute)";
    toast(`${action.replace("_", " ")} sent to ${p.name}${r.forwarded ? "" : later}`);
  } catch (err) { toast(err.detail || String(err), "error"); }
}

function armWake(p) {
  const btn = p.node.querySelector(".ctl-wake");
  const now = Date.now();
  if (now - p.wakeArmed < 4000) {
    p.wakeArmed = 0;
    btn.textContent = "Wake alarm";
    btn.classList.remove("armed");
    control(p, "wake_alarm");
  } else {
    p.wakeArmed = now;
    btn.textContent = "Confirm wake alarm";
    btn.classList.add("armed");
    setTimeout(() => { if (p.wakeArmed === now) { p.wakeArmed = 0; btn.textContent = "Wake alarm"; btn.classList.remove("armed"); } }, 4000);
  }
}

function wireControls(p) {
  const n = p.node;
  const kindSel = n.querySelector(".cue-kind");
  for (const cap of Object.values(ctx.caps)) for (const k of cap.kinds) kindSel.append(el("option", { value: k, text: k }));
  const capBox = n.querySelector(".cap");
  const levelInput = n.querySelector(".cue-level");
  const showCap = () => {
    capBox.textContent = capText(kindSel.value);
    const modality = Object.entries(ctx.caps).find(([, c]) => c.kinds.includes(kindSel.value));
    if (modality) levelInput.dataset.cap = modality[1].max_db;
    levelInput.classList.toggle("over", modality && Number(levelInput.value) > modality[1].max_db);
  };
  kindSel.addEventListener("change", showCap);
  levelInput.addEventListener("input", showCap);
  showCap();
  n.querySelector(".msg-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = n.querySelector(".msg-text");
    try {
      const r = await api(`/sessions/${sid}/messages`, { method: "POST", body: { to: p.name, text: input.value } });
      renderRelay(r);
      toast(`message to ${p.name} ${r.status}`);
      input.value = "";
    } catch (err) { toast(err.detail || String(err), "error"); }
  });
  n.querySelector(".cue-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { kind: kindSel.value, text: n.querySelector(".cue-text").value, level_db: Number(levelInput.value) };
    try {
      await api(`/ui/api/sessions/${sid}/dreamers/${encodeURIComponent(p.name)}/cue`, { method: "POST", body });
      toast(`cue requested for ${p.name}`);
    } catch (err) {
      capBox.textContent = err.detail;
      capBox.classList.add("refused");
      setTimeout(() => { capBox.classList.remove("refused"); showCap(); }, 8000);
      toast(err.detail || String(err), "error");
    }
  });
  for (const b of n.querySelectorAll(".design-controls button")) {
    b.addEventListener("click", () => (b.dataset.action === "wake_alarm" ? armWake(p) : control(p, b.dataset.action)));
  }
  n.querySelector(".note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = n.querySelector(".note-text");
    try {
      await api(`/ui/api/sessions/${sid}/dreamers/${encodeURIComponent(p.name)}/notes`, { method: "POST", body: { text: input.value } });
      input.value = "";
      toast(`note added for ${p.name}`);
    } catch (err) { toast(err.detail || String(err), "error"); }
  });
}

function select(i) {
  const list = [...view.panels.values()];
  if (!list.length) return;
  view.selected = Math.max(0, Math.min(list.length - 1, i));
  list.forEach((p, k) => p.node.classList.toggle("selected", k === view.selected));
}
const selectedPanel = () => [...view.panels.values()][view.selected];

// ------------------------------------------------------------------------------------- data
const container = document.getElementById("dreamers");
ctx.dreamers.forEach((d, i) => {
  const p = makePanel(d, i);
  view.panels.set(d.name, p);
  container.append(p.node);
});
container.dataset.count = String(ctx.dreamers.length);
if (!ctx.dreamers.length) container.append(el("p", { class: "muted", text: "No dreamers in this session yet." }));
select(0);

const pending = [];
let historyLoaded = false;
function handle(frame) {
  if (!historyLoaded && frame.type !== "welcome") { pending.push(frame); return; }
  const p = frame.dreamer ? view.panels.get(frame.dreamer) : null;
  if (p && (frame.type === "signal" || frame.type === "state") && !p.online) setConn(p, true); // data means online
  switch (frame.type) {
    case "signal": if (p) p.ring.push(frame); break;
    case "event": if (p) addEvent(p, { ...frame.event, seq: frame.seq }, true); break;
    case "state": if (p) { setReady(p, frame.ready); } break;
    case "rig": if (p) setConn(p, frame.connected); break;
    case "relay": renderRelay(frame.relay); break;
    case "message_queued": renderRelay(frame.relay); break;
    case "error": toast(`${frame.code}: ${frame.message}`, "error"); break;
    default: break;
  }
}

function connect() {
  const status = document.getElementById("feed-status");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/sessions/${sid}`);
  ws.onopen = () => { status.textContent = "live"; status.className = "feed on"; };
  ws.onmessage = (m) => { try { handle(JSON.parse(m.data)); } catch (err) { console.error(err); } };
  ws.onclose = (ev) => {
    status.textContent = ev.code === 4401 ? "logged out" : "reconnecting…";
    status.className = "feed off";
    if (window.dlLoggingOut) return;
    if (ev.code === 4401) { location.href = "/ui/login?next=" + encodeURIComponent(location.pathname); return; }
    // a refused handshake shows as 1006 in browsers: ask /me, which sends us to the login page on 401
    if (ev.code === 1006) api("/me").catch(() => {});
    if (ev.code !== 4403 && ev.code !== 4404) setTimeout(connect, 2000);
  };
  view.ws = ws;
}
connect();

async function loadHistory() {
  await Promise.all(ctx.dreamers.filter((d) => d.visible).map(async (d) => {
    const p = view.panels.get(d.name);
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const evs = await api(`/sessions/${sid}/dreamers/${encodeURIComponent(d.name)}/events?after_id=${after}&limit=5000`);
      for (const ev of evs) addEvent(p, ev, false);
      if (evs.length < 5000) break;
      after = evs[evs.length - 1].id;
    }
    const from = Math.max(0, (d.last_seq || 0) - 150);
    const blocks = await api(`/sessions/${sid}/dreamers/${encodeURIComponent(d.name)}/signals?after_seq=${from}&limit=2000`);
    for (const b of blocks) p.ring.push(b);
  }));
  try { for (const r of await api(`/sessions/${sid}/relays`)) renderRelay(r); } catch { /* members only */ }
  historyLoaded = true;
  for (const f of pending.splice(0)) handle(f);
  document.body.dataset.ready = "1";
}
loadHistory().catch((err) => toast(`history: ${err.detail || err}`, "error"));

// ------------------------------------------------------------------------------------- drawing
// Canvas sizes come from a ResizeObserver, so the frame loop never forces a layout by reading them.
const sizes = new WeakMap();
const resizer = new ResizeObserver((entries) => {
  for (const e of entries) sizes.set(e.target, { w: e.contentRect.width, h: e.contentRect.height });
});
function fit(canvas) {
  if (!sizes.has(canvas)) { resizer.observe(canvas); sizes.set(canvas, { w: canvas.clientWidth, h: canvas.clientHeight }); }
  const { w: cw, h: ch } = sizes.get(canvas);
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(50, Math.round(cw * dpr));
  const h = Math.max(30, Math.round(ch * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; return true; }
  return false;
}

let last = performance.now();
function frame(now) {
  const t0 = performance.now();
  const dt = Math.min(0.25, (now - last) / 1000);
  view.perf.frames.push(now - last);
  last = now;
  const dpr = window.devicePixelRatio || 1;
  for (const p of view.panels.values()) {
    if (!p.traces || !p.traces.isConnected) continue;
    fit(p.traces);
    const tRight = p.ring.advance(dt);
    drawTraces(p.traces.getContext("2d"), p.ring, tRight, view.windowSec, view.gain, p.traces.width, p.traces.height, dpr);
    if (tRight !== null && Math.floor(tRight) !== p.shownSecond) { // touch the DOM once a second only
      p.shownSecond = Math.floor(tRight);
      p.clockEl ??= p.node.querySelector(".clock");
      p.clockEl.textContent = clock(tRight);
    }
    if (p.hypno && (fit(p.hypno) || p.hypnoDirty)) {
      p.hypnoDirty = false;
      drawHypnogram(p.hypno.getContext("2d"), {
        epochs: p.stages.epochs, epochSec: 30, tMax: Math.max(p.stages.tEnd, p.ring.endTime || 0),
        markers: p.markers, width: p.hypno.width, height: p.hypno.height, dpr,
      });
      p.hypno.dataset.epochs = String(p.stages.epochs.length);
    }
  }
  view.perf.work.push(performance.now() - t0);
  if (view.perf.frames.length > 5000) { view.perf.frames.splice(0, 2500); view.perf.work.splice(0, 2500); }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ------------------------------------------------------------------------------------- settings, keys
const winSel = document.getElementById("window-sec");
const gainInput = document.getElementById("gain");
const gainLabel = document.getElementById("gain-label");
const showGain = () => { gainLabel.textContent = `×${Math.pow(2, view.gain)}`; };
winSel.addEventListener("change", () => { view.windowSec = Number(winSel.value); });
gainInput.addEventListener("input", () => { view.gain = Number(gainInput.value); showGain(); });
showGain();
const help = document.getElementById("help");
document.getElementById("help-button").addEventListener("click", () => help.showModal());

document.addEventListener("keydown", (ev) => {
  const typing = ev.target instanceof HTMLElement && ev.target.closest("input, textarea, select");
  if (typing) { if (ev.key === "Escape") ev.target.blur(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const p = selectedPanel();
  const focus = (sel) => { const n = p && p.node.querySelector(sel); if (n) { ev.preventDefault(); n.focus(); } };
  if (/^[1-9]$/.test(ev.key)) { select(Number(ev.key) - 1); selectedPanel()?.node.scrollIntoView({ block: "nearest" }); return; }
  switch (ev.key) {
    case "?": help.showModal(); break;
    case "+": case "=": view.gain = Math.min(3, view.gain + 1); gainInput.value = view.gain; showGain(); break;
    case "-": view.gain = Math.max(-3, view.gain - 1); gainInput.value = view.gain; showGain(); break;
    case "[": winSel.selectedIndex = Math.max(0, winSel.selectedIndex - 1); view.windowSec = Number(winSel.value); break;
    case "]": winSel.selectedIndex = Math.min(winSel.options.length - 1, winSel.selectedIndex + 1); view.windowSec = Number(winSel.value); break;
    default:
      if (observe || !p) return;
      if (ev.key === "m") focus(".msg-text");
      else if (ev.key === "c") focus(".cue-text");
      else if (ev.key === "n") focus(".note-text");
      else if (ev.key === "s") control(p, "start");
      else if (ev.key === "p") control(p, "pause");
      else if (ev.key === "A") control(p, "abort");
      else if (ev.key === "w") armWake(p);
  }
});
