// Login: exchange name and password for the HttpOnly cookie, then go where the user was heading.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const body = { name: form.name.value.trim(), password: form.password.value };
  if (!body.name || !body.password) {
    error.textContent = "Enter your user name and password.";
    return;
  }
  const res = await fetch("/auth/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    let detail = `login failed (${res.status})`;
    try { detail = (await res.json()).detail || detail; } catch { /* not JSON */ }
    error.textContent = typeof detail === "string" ? detail : "login failed";
    return;
  }
  const next = new URLSearchParams(location.search).get("next");
  location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/ui/";
});
