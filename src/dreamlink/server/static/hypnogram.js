// Hypnogram drawing shared by the live view, the morning view and the design studio.
// Stage rows are labelled (colour is never the only cue); the bottom band is the hypnodensity
// (stacked stage probabilities per epoch, or the stage's colour scaled by its confidence).
import { STAGE_COLORS, STAGE_ROW, STAGES } from "/ui/static/common.js";

export const MARKER_STYLE = {
  rem_entry: { color: "#CC79A7", shape: "up", label: "REM period" },
  rem: { color: "#CC79A7", shape: "tick", label: "rapid eye movement" },
  arousal: { color: "#000000", shape: "bar", label: "arousal" },
  wake: { color: "#E69F00", shape: "bar", label: "wake" },
  cue: { color: "#D55E00", shape: "down", label: "cue" },
  cue_request: { color: "#D55E00", shape: "down", label: "cue" },
  cue_refused: { color: "#7f7f7f", shape: "x", label: "refused" },
  lrlr: { color: "#0072B2", shape: "dot", label: "LRLR" },
  message: { color: "#009E73", shape: "dot", label: "message" },
  relay_in: { color: "#009E73", shape: "down", label: "message in" },
  relay_ack: { color: "#009E73", shape: "up", label: "ack" },
  note: { color: "#555555", shape: "dot", label: "note" },
  action: { color: "#D55E00", shape: "down", label: "action" },
  trigger: { color: "#0072B2", shape: "dot", label: "trigger" },
  skipped: { color: "#999999", shape: "x", label: "skipped" },
  refused: { color: "#7f7f7f", shape: "x", label: "refused" },
  state: { color: "#56B4E9", shape: "bar", label: "state" },
};

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {object} o  epochs: [{stage, confidence, proba}], epochSec, tMax (s), markers: [{t, kind}],
 *                    width, height (device px), dpr
 */
export function drawHypnogram(ctx, o) {
  const { epochs, epochSec = 30, markers = [], width, height, dpr = 1 } = o;
  const tMax = Math.max(o.tMax || 0, epochs.length * epochSec, 1800);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  const labelW = 30 * dpr, markerH = 12 * dpr, densH = 14 * dpr, axisH = 12 * dpr;
  const plotTop = markerH, plotH = height - markerH - densH - axisH;
  const plotW = width - labelW;
  const rows = ["W", "R", "N1", "N2", "N3"];
  const rowH = plotH / rows.length;
  const xOf = (t) => labelW + (t / tMax) * plotW;
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  rows.forEach((s, i) => {
    ctx.fillStyle = "#333";
    ctx.fillText(s, 3 * dpr, plotTop + rowH * (i + 0.5));
    ctx.strokeStyle = "#eee";
    ctx.beginPath(); ctx.moveTo(labelW, plotTop + rowH * (i + 0.5)); ctx.lineTo(width, plotTop + rowH * (i + 0.5)); ctx.stroke();
  });
  const colW = Math.max(1, (epochSec / tMax) * plotW);
  // hypnodensity band
  const densTop = plotTop + plotH;
  for (let e = 0; e < epochs.length; e++) {
    const ep = epochs[e];
    if (!ep) continue;
    const x = xOf(e * epochSec);
    if (ep.proba) {
      let y = densTop;
      for (const s of ["W", "R", "N1", "N2", "N3"]) {
        const p = ep.proba[s] ?? ep.proba[`p_${s}`] ?? 0;
        if (p <= 0) continue;
        ctx.fillStyle = STAGE_COLORS[s];
        ctx.fillRect(x, y, colW + 0.5, p * densH);
        y += p * densH;
      }
    } else {
      const c = ep.confidence ?? 1;
      ctx.fillStyle = "#e8e8e8";
      ctx.fillRect(x, densTop, colW + 0.5, densH);
      ctx.fillStyle = STAGE_COLORS[ep.stage] || STAGE_COLORS["?"];
      ctx.fillRect(x, densTop + (1 - c) * densH, colW + 0.5, c * densH);
    }
  }
  // step line of the stages, coloured per segment, with a dark outline for contrast
  let prev = null;
  ctx.lineWidth = 2 * dpr;
  for (let e = 0; e < epochs.length; e++) {
    const ep = epochs[e];
    if (!ep || !(ep.stage in STAGE_ROW) || ep.stage === "?") { prev = null; continue; }
    const y = plotTop + rowH * (STAGE_ROW[ep.stage] + 0.5);
    const x0 = xOf(e * epochSec), x1 = xOf((e + 1) * epochSec);
    ctx.strokeStyle = "#222";
    ctx.beginPath();
    if (prev !== null) { ctx.moveTo(x0, prev); ctx.lineTo(x0, y); } else ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
    ctx.fillStyle = STAGE_COLORS[ep.stage];
    ctx.fillRect(x0, y - 2 * dpr, Math.max(1, x1 - x0), 4 * dpr);
    prev = y;
  }
  // markers
  for (const m of markers) {
    const st = MARKER_STYLE[m.kind];
    if (!st || !Number.isFinite(m.t)) continue;
    const x = xOf(m.t);
    const cy = markerH / 2;
    ctx.fillStyle = st.color;
    ctx.strokeStyle = st.color;
    ctx.lineWidth = 1.5 * dpr;
    const r = 4 * dpr;
    ctx.beginPath();
    if (st.shape === "down") { ctx.moveTo(x - r, cy - r); ctx.lineTo(x + r, cy - r); ctx.lineTo(x, cy + r); ctx.fill(); }
    else if (st.shape === "up") { ctx.moveTo(x - r, cy + r); ctx.lineTo(x + r, cy + r); ctx.lineTo(x, cy - r); ctx.fill(); }
    else if (st.shape === "bar") { ctx.moveTo(x, 0); ctx.lineTo(x, plotTop + plotH); ctx.stroke(); }
    else if (st.shape === "tick") { ctx.moveTo(x, markerH - 1); ctx.lineTo(x, markerH + 3 * dpr); ctx.stroke(); }
    else if (st.shape === "x") { ctx.moveTo(x - r, cy - r); ctx.lineTo(x + r, cy + r); ctx.moveTo(x + r, cy - r); ctx.lineTo(x - r, cy + r); ctx.stroke(); }
    else { ctx.arc(x, cy, r * 0.8, 0, Math.PI * 2); ctx.fill(); }
  }
  // hour axis
  ctx.fillStyle = "#555";
  ctx.textBaseline = "top";
  const stepH = tMax > 4 * 3600 ? 3600 : tMax > 3600 ? 1800 : 600;
  for (let t = 0; t <= tMax; t += stepH) {
    const x = xOf(t);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
    ctx.fillText(`${h}:${String(m).padStart(2, "0")}`, Math.min(x, width - 28 * dpr), densTop + densH + 1);
  }
  ctx.textBaseline = "alphabetic";
}

/** Epoch list from stage events; settled (or 30-s truth) events override provisional ones. */
export class StageTrack {
  constructor(epochSec = 30) {
    this.epochSec = epochSec;
    this.epochs = [];
    this.settled = [];
    this.current = null;
  }

  add(ev) {
    if (ev.trial_type !== "stage" || typeof ev.value !== "string") return false;
    const data = ev.data || {};
    const provisional = data.kind === "provisional" || !(ev.duration > 0);
    let start = ev.onset;
    if (provisional) start = Array.isArray(data.window) ? data.window[0] : ev.onset - this.epochSec;
    const e = Math.max(0, Math.round(start / this.epochSec));
    const entry = { stage: ev.value, confidence: ev.confidence ?? null, proba: data.proba || null };
    if (!provisional || !this.settled[e]) {
      this.epochs[e] = entry;
      if (!provisional) this.settled[e] = true;
    }
    if (!this.current || e >= this.current.epoch) this.current = { ...entry, epoch: e };
    return true;
  }

  get tEnd() { return this.epochs.length * this.epochSec; }
}

export { STAGES };
