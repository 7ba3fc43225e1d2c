// Design studio: edit a design with live, located validation; save it; attach it to a session;
// rehearse it on a simulated or recorded night and see the timeline over the hypnogram.
import { api, clock, el, header, stageLegend, toast } from "/ui/static/common.js";
import { drawHypnogram, MARKER_STYLE } from "/ui/static/hypnogram.js";

const me = await header();
const text = document.getElementById("design-text");
const gutter = document.getElementById("gutter");
const issuesBox = document.getElementById("issues");
const nameInput = document.getElementById("design-name");
let issues = [];
let examples = [];
let mine = [];
let lastResult = null;

function renderGutter() {
  const n = text.value.split("\n").length;
  const byLine = new Map();
  for (const i of issues) {
    const prev = byLine.get(i.line);
    if (!prev || i.severity === "error") byLine.set(i.line, i);
  }
  const frag = document.createDocumentFragment();
  for (let k = 1; k <= n; k++) {
    const iss = byLine.get(k);
    frag.append(el("span", { class: iss ? (iss.severity === "error" ? "err" : "warn") : null, title: iss ? iss.text : null, "data-line": String(k), text: String(k) }));
  }
  gutter.replaceChildren(frag);
  gutter.scrollTop = text.scrollTop;
}
text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });

function goToLine(line, col) {
  const lines = text.value.split("\n");
  let pos = 0;
  for (let k = 0; k < line - 1 && k < lines.length; k++) pos += lines[k].length + 1;
  pos += Math.max(0, (col || 1) - 1);
  text.focus();
  text.setSelectionRange(pos, pos);
  const lh = parseFloat(getComputedStyle(text).lineHeight) || 19;
  text.scrollTop = Math.max(0, (line - 5) * lh);
}

function renderIssues() {
  issuesBox.replaceChildren();
  if (!issues.length) {
    issuesBox.append(el("li", { class: "ok", text: text.value.trim() ? "✓ valid design" : "empty design" }));
  }
  for (const i of issues) {
    const li = el("li", {
      class: i.severity, tabindex: "0", "data-line": String(i.line),
      text: `line ${i.line}, col ${i.col}: ${i.field}: ${i.severity === "warning" ? "warning: " : ""}${i.message}${i.suggestion ? ` (did you mean '${i.suggestion}'?)` : ""}`,
    });
    li.addEventListener("click", () => goToLine(i.line, i.col));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") goToLine(i.line, i.col); });
    issuesBox.append(li);
  }
  renderGutter();
}

let checkTimer = null;
let checkSeq = 0;
async function check() {
  const mySeq = ++checkSeq;
  try {
    const r = await api("/ui/api/designs/check", { method: "POST", body: { text: text.value } });
    if (mySeq !== checkSeq) return;
    issues = r.issues;
    issuesBox.dataset.ok = r.ok ? "1" : "0";
    renderIssues();
  } catch (err) { toast(err.detail || String(err), "error"); }
}
text.addEventListener("input", () => {
  renderGutter();
  issuesBox.dataset.ok = "";
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 300);
});
text.addEventListener("keydown", (ev) => {
  if (ev.key === "Tab" && !ev.shiftKey && !ev.ctrlKey) { // two spaces, as YAML wants
    ev.preventDefault();
    const s = text.selectionStart;
    text.setRangeText("  ", s, text.selectionEnd, "end");
    text.dispatchEvent(new Event("input"));
  } else if (ev.key === "s" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
  else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); rehearseNow(); }
});

function setText(value, name) {
  text.value = value;
  if (name) nameInput.value = name;
  text.dispatchEvent(new Event("input"));
}

async function loadLists() {
  examples = await api("/ui/api/designs/examples");
  const ex = document.getElementById("example");
  for (const e of examples) ex.append(el("option", { value: e.name, text: e.name }));
  await loadMine();
  const sessions = await api("/sessions");
  const sel = document.getElementById("attach-session");
  for (const s of sessions) sel.append(el("option", { value: s.id, text: s.name }));
  if (!sessions.length) sel.append(el("option", { value: "", text: "— no session —" }));
  const nights = await api("/ui/api/nights");
  const ns = document.getElementById("night");
  for (const f of nights.recorded) ns.append(el("option", { value: `file:${f}`, text: `recorded: ${f}` }));
}
async function loadMine() {
  mine = await api("/ui/api/designs");
  const sel = document.getElementById("my-designs");
  sel.replaceChildren(el("option", { value: "", text: mine.length ? "— choose —" : "— none —" }));
  for (const d of mine) sel.append(el("option", { value: d.name, text: d.name }));
}

document.getElementById("load-example").addEventListener("click", () => {
  const e = examples.find((x) => x.name === document.getElementById("example").value);
  if (e) setText(e.text, `${e.name}_copy`);
});
document.getElementById("load-mine").addEventListener("click", () => {
  const d = mine.find((x) => x.name === document.getElementById("my-designs").value);
  if (d) setText(d.text, d.name);
});

async function save() {
  const name = nameInput.value.trim();
  if (!name) { toast("give the design a name first", "error"); nameInput.focus(); return; }
  try {
    const r = await api("/ui/api/designs", { method: "POST", body: { name, text: text.value } });
    const n = r.issues.filter((i) => i.severity === "error").length;
    toast(`saved ${r.name}${n ? ` (${n} error(s) left)` : ""}`);
    await loadMine();
    document.getElementById("my-designs").value = name;
  } catch (err) { toast(err.detail || String(err), "error"); }
}
document.getElementById("save").addEventListener("click", save);

document.getElementById("attach").addEventListener("click", async () => {
  const sid = document.getElementById("attach-session").value;
  if (!sid) { toast("no session to attach to", "error"); return; }
  try {
    await api(`/ui/api/sessions/${sid}/design`, { method: "POST", body: { name: nameInput.value.trim() || "design", text: text.value } });
    toast("design attached to the session");
  } catch (err) { toast(err.detail || String(err), "error"); }
});

const KIND_MARK = { action: "action", trigger: "trigger", skipped: "skipped", refused: "refused" };
function drawResult() {
  const canvas = document.getElementById("rehearsal-hypno");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(canvas.clientHeight * dpr);
  const c = canvas.getContext("2d");
  if (!lastResult) { c.clearRect(0, 0, canvas.width, canvas.height); return; }
  const night = lastResult.nights[0];
  const epochs = night.stages.map((s, k) => ({
    stage: s, confidence: null,
    proba: night.proba ? Object.fromEntries(["W", "N1", "N2", "N3", "R"].map((st, j) => [st, night.proba[k][j]])) : null,
  }));
  const markers = [];
  for (const a of night.actions) markers.push({ t: a.t, kind: a.trial_type === "cue" ? "cue" : "action" });
  for (const r of night.timeline) if (KIND_MARK[r.kind] && r.kind !== "action") markers.push({ t: r.t, kind: KIND_MARK[r.kind] });
  drawHypnogram(c, { epochs, epochSec: night.epoch_sec, tMax: night.duration, markers, width: canvas.width, height: canvas.height, dpr });
}
window.addEventListener("resize", drawResult);

async function rehearseNow() {
  const status = document.getElementById("rehearse-status");
  const btn = document.getElementById("rehearse");
  const nightSel = document.getElementById("night").value;
  const body = { text: text.value, seed: Number(document.getElementById("seed").value || 0), hours: Number(document.getElementById("hours").value || 8) };
  if (nightSel.startsWith("file:")) { body.night = "file"; body.file = nightSel.slice(5); } else body.night = "sim";
  btn.disabled = true;
  status.textContent = "rehearsing…";
  status.dataset.state = "running";
  try {
    lastResult = await api("/ui/api/designs/rehearse", { method: "POST", body });
    const night = lastResult.nights[0];
    status.textContent = `rehearsed on ${night.name}: final state ${night.final_state}`;
    status.dataset.state = "done";
    document.getElementById("rehearsal-summary").textContent = lastResult.summary.join("\n");
    const tbody = document.querySelector("#timeline tbody");
    tbody.replaceChildren();
    for (const r of night.timeline.slice(0, 1000)) {
      tbody.append(el("tr", { "data-kind": r.kind }, el("td", { text: clock(r.t) }), el("td", { text: r.kind }),
        el("td", { text: r.name }), el("td", { text: r.value }), el("td", { text: r.state })));
    }
    drawResult();
  } catch (err) {
    status.textContent = `rehearsal failed: ${err.detail || err}`;
    status.dataset.state = "failed";
  } finally { btn.disabled = false; }
}
document.getElementById("rehearse").addEventListener("click", rehearseNow);

const legend = document.getElementById("rehearsal-legend");
legend.append(stageLegend(), el("ul", { class: "legend", "aria-label": "timeline markers" },
  ...["cue", "action", "trigger", "skipped"].map((k) => el("li", {}, el("span", { class: "swatch", style: `background:${MARKER_STYLE[k].color}` }), ` ${k}`))));

await loadLists();
setText("", "");
void me;
