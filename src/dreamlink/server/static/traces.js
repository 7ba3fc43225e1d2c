// Live traces on a canvas: a ring buffer per dreamer fed by decimated signal frames, drawn as a
// scrolling window with min/max per pixel column (so the cost per frame depends on the canvas width,
// not on the sampling rate or the window length).

const MAX_WINDOW_SEC = 120;

/** Default half-range per channel type in µV (the scale slider multiplies it by 2^-gain). */
const TYPE_RANGE_UV = { eeg: 75, eog: 150, emg: 50 };

export function channelType(name) {
  const n = name.toUpperCase();
  if (n.startsWith("E1") || n.startsWith("E2") || n.includes("EOG") || n.startsWith("LOC") || n.startsWith("ROC")) return "eog";
  if (n.includes("EMG") || n.includes("CHIN")) return "emg";
  return "eeg";
}

const TYPE_COLOR = { eeg: "#1b1b1b", eog: "#0072B2", emg: "#D55E00" };

function decode(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

export class SignalRing {
  constructor() {
    this.sfreq = 0;
    this.chNames = [];
    this.data = [];
    this.cap = 0;
    this.end = 0;        // absolute index (exclusive) of the newest sample
    this.start = 0;      // oldest valid absolute index
    this.blockSec = 1;
    this.rate = 1;       // stream seconds per wall second (EMA)
    this.lastArrival = 0;
    this.lastArrivalEnd = 0;
    this.display = null; // displayed right-edge time, seconds
  }

  reset(sfreq, chNames) {
    this.sfreq = sfreq;
    this.chNames = chNames.slice();
    this.cap = Math.ceil(sfreq * MAX_WINDOW_SEC);
    this.data = chNames.map(() => new Float32Array(this.cap).fill(NaN));
    this.end = 0;
    this.start = 0;
    this.display = null;
  }

  /** Append one `signal` frame (base64 float32, channel-major, volts). */
  push(frame, wallNow = performance.now() / 1000) {
    if (frame.sfreq !== this.sfreq || frame.ch_names.length !== this.chNames.length
        || frame.ch_names.some((c, i) => c !== this.chNames[i])) {
      this.reset(frame.sfreq, frame.ch_names);
    }
    const n = frame.n;
    if (n <= 0) return;
    const values = decode(frame.data);
    const first = frame.first;
    if (this.end === 0 && this.start === 0) { this.start = first; this.end = first; }
    if (first + n <= this.end - this.cap) return; // far too old
    if (first > this.end) { // a gap: blank what is missing
      for (let i = this.end; i < Math.min(first, this.end + this.cap); i++) {
        for (const ch of this.data) ch[i % this.cap] = NaN;
      }
    }
    for (let c = 0; c < this.data.length; c++) {
      const ch = this.data[c];
      const off = c * n;
      for (let i = 0; i < n; i++) ch[(first + i) % this.cap] = values[off + i] * 1e6; // µV
    }
    const newEnd = Math.max(this.end, first + n);
    if (this.lastArrival > 0 && newEnd > this.end) {
      const dw = wallNow - this.lastArrival;
      const ds = (newEnd - this.lastArrivalEnd) / this.sfreq;
      if (dw > 0.02) {
        this.rate = 0.8 * this.rate + 0.2 * Math.min(1000, ds / dw);
        this.blockSec = 0.8 * this.blockSec + 0.2 * (n / this.sfreq);
        this.lastArrival = wallNow;
        this.lastArrivalEnd = newEnd;
      }
    } else if (this.lastArrival === 0) {
      this.lastArrival = wallNow;
      this.lastArrivalEnd = newEnd;
      this.blockSec = n / this.sfreq;
    }
    this.end = newEnd;
    this.start = Math.max(this.start, this.end - this.cap);
  }

  get endTime() { return this.end / (this.sfreq || 1); }

  /** Advance the displayed right edge smoothly (one block behind the newest data). */
  advance(dtWall) {
    if (!this.sfreq || this.end === 0) return null;
    const lag = Math.min(5, this.blockSec * 1.2);
    const target = this.endTime - lag;
    if (this.display === null || Math.abs(target - this.display) > 10 * Math.max(1, this.blockSec)) {
      this.display = target;
    } else {
      this.display += dtWall * this.rate;
      this.display += (target - this.display) * Math.min(1, dtWall * 2);
    }
    this.display = Math.min(this.display, this.endTime);
    return this.display;
  }
}

/** Draw the window [tRight - windowSec, tRight] of every channel into a 2-D context. */
export function drawTraces(ctx, ring, tRight, windowSec, gainExp, width, height, dpr) {
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  const nCh = ring.chNames.length;
  if (!nCh || tRight === null) {
    ctx.fillStyle = "#666";
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    ctx.fillText("waiting for signal…", 10 * dpr, 20 * dpr);
    return;
  }
  const labelW = 64 * dpr;
  const plotW = Math.max(10, width - labelW);
  const rowH = height / nCh;
  const sf = ring.sfreq;
  const tLeft = tRight - windowSec;
  const pxPerSec = plotW / windowSec;
  // second grid
  ctx.strokeStyle = "#e6e6e6";
  ctx.lineWidth = 1;
  ctx.beginPath();
  const step = windowSec > 40 ? 10 : windowSec > 15 ? 5 : 1;
  for (let s = Math.ceil(tLeft / step) * step; s <= tRight; s += step) {
    const x = labelW + (s - tLeft) * pxPerSec;
    ctx.moveTo(x, 0); ctx.lineTo(x, height);
  }
  ctx.stroke();
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const gain = Math.pow(2, gainExp);
  const cols = Math.floor(plotW);
  const samplesPerCol = (windowSec * sf) / cols;
  const first = Math.floor(tLeft * sf);
  for (let c = 0; c < nCh; c++) {
    const name = ring.chNames[c];
    const type = channelType(name);
    const range = TYPE_RANGE_UV[type] / gain;
    const y0 = rowH * (c + 0.5);
    const k = (rowH * 0.5) / range;
    ctx.fillStyle = "#333";
    ctx.fillText(name, 4 * dpr, y0 - 2 * dpr);
    ctx.fillStyle = "#777";
    ctx.fillText(`±${range >= 10 ? range.toFixed(0) : range.toFixed(1)} µV`, 4 * dpr, y0 + 11 * dpr);
    const ch = ring.data[c];
    const cap = ring.cap;
    ctx.strokeStyle = TYPE_COLOR[type];
    ctx.lineWidth = Math.max(1, dpr);
    ctx.beginPath();
    let pen = false;
    if (samplesPerCol <= 1.5) {
      // fewer samples than pixels: a plain polyline
      for (let i = Math.max(first, ring.start); i < ring.end; i++) {
        const t = i / sf;
        if (t < tLeft || t > tRight) continue;
        const v = ch[i % cap];
        if (Number.isNaN(v)) { pen = false; continue; }
        const x = labelW + (t - tLeft) * pxPerSec;
        const y = y0 - Math.max(-range, Math.min(range, v)) * k;
        if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
      }
    } else {
      for (let col = 0; col < cols; col++) {
        const a = Math.max(first + Math.floor(col * samplesPerCol), ring.start);
        const b = Math.min(first + Math.floor((col + 1) * samplesPerCol), ring.end, Math.floor(tRight * sf) + 1);
        if (b <= a) { pen = false; continue; }
        let lo = Infinity, hi = -Infinity;
        for (let i = a; i < b; i++) {
          const v = ch[i % cap];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (lo === Infinity) { pen = false; continue; }
        const x = labelW + col + 0.5;
        const yl = y0 - Math.max(-range, Math.min(range, lo)) * k;
        const yh = y0 - Math.max(-range, Math.min(range, hi)) * k;
        if (pen) ctx.lineTo(x, yh); else { ctx.moveTo(x, yh); pen = true; }
        ctx.lineTo(x, yl);
      }
    }
    ctx.stroke();
    ctx.strokeStyle = "#ddd";
    ctx.beginPath(); ctx.moveTo(0, rowH * (c + 1)); ctx.lineTo(width, rowH * (c + 1)); ctx.stroke();
  }
}
