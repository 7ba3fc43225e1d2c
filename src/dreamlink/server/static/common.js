// Shared helpers of the dreamlink dashboard: API calls, stage colours, header, time formatting.

/** Okabe & Ito (2008) colour-blind-safe palette, one colour per sleep stage. */
export const STAGES = ["W", "N1", "N2", "N3", "R"];
export const STAGE_COLORS = {
  W: "#E69F00",   // orange
  N1: "#56B4E9",  // sky blue
  N2: "#009E73",  // bluish green
  N3: "#0072B2",  // blue
  R: "#CC79A7",   // reddish purple
  "?": "#999999",
};
export const STAGE_NAMES = { W: "Wake", N1: "N1", N2: "N2", N3: "N3 (deep)", R: "REM", "?": "unscored" };
/** Depth order for the hypnogram's y axis (top to bottom). */
export const STAGE_ROW = { W: 0, R: 1, N1: 2, N2: 3, N3: 4, "?": 5 };

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/** fetch() JSON with the login cookie; throws ApiError with the server's one-line detail. */
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    let detail = data && data.detail !== undefined ? data.detail : text;
    if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    if (res.status === 401 && !path.startsWith("/auth/") && !window.dlLoggingOut) {
      location.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    throw new ApiError(res.status, String(detail));
  }
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/** Seconds → h:mm:ss. */
export function clock(t) {
  if (!Number.isFinite(t)) return "–";
  const s = Math.max(0, Math.floor(t));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(ss).padStart(2, "0")}`;
}

export function wallTime(posix) {
  if (!posix) return "";
  return new Date(posix * 1000).toLocaleTimeString([], { hour12: false });
}

/** Fill the page header: who is logged in, navigation and the logout button. */
export async function header() {
  const me = await api("/me");
  const bar = document.getElementById("userbar");
  if (bar) {
    bar.replaceChildren(
      el("span", { class: "who", text: `${me.name} (${me.role})` }),
      el("button", {
        type: "button", id: "logout", class: "secondary", text: "Log out",
        onclick: async () => {
          window.dlLoggingOut = true;
          try { await api("/auth/logout", { method: "POST" }); } finally { location.href = "/ui/login"; }
        },
      }),
    );
  }
  return me;
}

/** Show a transient status line in an aria-live region. */
export function toast(message, kind = "info") {
  let box = document.getElementById("toast");
  if (!box) {
    box = el("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = el("div", { class: `toast ${kind}`, text: message });
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function stageLegend() {
  return el("ul", { class: "legend", "aria-label": "stage colours" },
    ...STAGES.map((s) => el("li", {},
      el("span", { class: "swatch", style: `background:${STAGE_COLORS[s]}` }), ` ${STAGE_NAMES[s]}`)));
}
