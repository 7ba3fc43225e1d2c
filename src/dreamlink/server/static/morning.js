// A dreamer's morning view: their night (hypnogram, minutes per stage, cues and messages) and a journal.
import { api, clock, el, header, stageLegend, toast, wallTime, STAGE_NAMES } from "/ui/static/common.js";
import { drawHypnogram } from "/ui/static/hypnogram.js";

const sid = location.pathname.split("/").filter(Boolean).pop();
await header();
let data = null;

function draw() {
  const canvas = document.getElementById("morning-hypno");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(canvas.clientHeight * dpr);
  const markers = data.events.filter((e) => ["rem_entry", "arousal", "cue", "relay_in", "lrlr"].includes(e.trial_type))
    .map((e) => ({ t: e.onset, kind: e.trial_type }));
  drawHypnogram(canvas.getContext("2d"), { epochs: data.hypnogram.epochs, epochSec: 30, markers, width: canvas.width, height: canvas.height, dpr });
}

async function load() {
  data = await api(`/ui/api/sessions/${sid}/morning`);
  document.getElementById("morning-title").textContent = `Good morning, ${data.dreamer}`;
  const mins = document.getElementById("stage-minutes");
  mins.replaceChildren(...Object.entries(data.hypnogram.minutes).map(([s, m]) => el("li", { text: `${STAGE_NAMES[s] || s}: ${m.toFixed(1)} min` })));
  const relays = document.getElementById("morning-relays");
  relays.replaceChildren(...data.relays.map((r) => el("li", { "data-status": r.status, "data-relay": String(r.id) },
    r.recipient === data.dreamer ? `← from ${r.sender}: ` : `→ to ${r.recipient}: `, el("q", { text: r.text }),
    `${r.revises_id ? " (revision)" : ""} (${r.status === "superseded" ? "replaced by a revision before delivery" : r.status})`)));
  if (!data.relays.length) relays.append(el("li", { class: "muted", text: "no messages this night" }));
  document.querySelector("#communication tbody").replaceChildren(...data.communication.map((r) => el("tr", { "data-kind": r.kind },
    el("td", { text: clock(r.time) }), el("td", { text: r.kind }), el("td", { text: r.sender }), el("td", { text: r.to }),
    el("td", { text: r.what }), el("td", { text: r.acknowledged }))));
  const evs = document.getElementById("morning-events");
  evs.replaceChildren(...data.events.slice().reverse().map((e) => el("li", { "data-type": e.trial_type },
    el("time", { text: clock(e.onset) }), " ", el("b", { text: e.trial_type }), " ", String(e.value ?? ""))));
  const journal = document.getElementById("journal-entries");
  journal.replaceChildren(...data.journal.slice().reverse().map((j) => el("li", {},
    el("time", { text: wallTime(j.created) }), j.lucid ? " (lucid) " : " ", j.text)));
  draw();
}

document.getElementById("morning-legend").append(stageLegend());
document.getElementById("journal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = document.getElementById("journal-text");
  try {
    await api(`/ui/api/sessions/${sid}/journal`, { method: "POST", body: { text: t.value, lucid: document.getElementById("journal-lucid").checked } });
    t.value = "";
    toast("journal entry saved");
    await load();
  } catch (err) { toast(err.detail || String(err), "error"); }
});
window.addEventListener("resize", () => data && draw());
await load();
