// Session list: every session the user belongs to, with the views the user may open.
import { api, el, header, toast, wallTime } from "/ui/static/common.js";

const me = await header();

async function load() {
  const sessions = await api("/sessions");
  const body = document.querySelector("#sessions tbody");
  body.replaceChildren();
  document.getElementById("no-sessions").hidden = sessions.length > 0;
  for (const s of sessions) {
    const links = el("td", { class: "links" });
    if (me.role === "dreamer") {
      links.append(el("a", { href: `/ui/morning/${s.id}`, text: "Morning view" }), " ");
    }
    links.append(
      el("a", { href: `/ui/session/${s.id}`, class: "session-link", text: me.role === "dreamer" ? "My night live" : "Live view" }), " ",
      el("a", { href: `/ui/session/${s.id}?mode=observe`, text: "Observer view" }),
    );
    body.append(el("tr", { "data-session": s.id },
      el("td", { text: s.name }), el("td", { text: wallTime(s.created) }),
      el("td", { text: s.status }), links));
  }
}

if (me.role === "operator" || me.role === "admin") {
  const box = document.getElementById("new-session");
  box.hidden = false;
  document.getElementById("new-session-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = document.getElementById("session-name");
    try {
      const s = await api("/sessions", { method: "POST", body: { name: input.value } });
      toast(`session ${s.name || input.value} created`);
      input.value = "";
      await load();
    } catch (err) {
      toast(err.detail || String(err), "error");
    }
  });
}
await load();
