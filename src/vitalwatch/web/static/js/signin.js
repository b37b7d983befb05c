// Sign-in for the pages beside the dashboard (typed-in vitals, HL7 admin):
// resolves once a staff token is stored (the dashboard's own, if present).

import { login, session } from "./api.js";
import { esc } from "./format.js";

export function signedIn(container, title) {
  if (session.token) return Promise.resolve(session.user);
  return new Promise((resolve) => {
    container.innerHTML = `
      <form class="card" data-testid="signin">
        <h1>${esc(title)}</h1>
        <label>User name <input name="username" autocomplete="username" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit" class="primary">Sign in</button>
        <p class="error" role="alert"></p>
      </form>`;
    const form = container.querySelector("form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await login(form.username.value, form.password.value);
        container.innerHTML = "";
        resolve(session.user);
      } catch (err) {
        form.querySelector(".error").textContent = err.message;
      }
    });
  });
}
