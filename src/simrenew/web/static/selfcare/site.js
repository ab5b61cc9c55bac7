// Progressive help only: every form works without this script.
// A form marked data-once sends once: its submit button is disabled after the first click, so a
// double click does not send it twice (the Idempotency-Key would make a second send harmless).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
  if (form.dataset.sent === "yes") { event.preventDefault(); return; }
  form.dataset.sent = "yes";
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.setAttribute("aria-disabled", "true");
    button.classList.add("button--busy");
  }
});
// Coming back with the browser's Back button shows the page from its cache: allow sending again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-once]")) {
    delete form.dataset.sent;
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.removeAttribute("aria-disabled");
      button.classList.remove("button--busy");
    }
  }
});
