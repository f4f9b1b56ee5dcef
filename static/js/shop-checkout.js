// Checkout: one click, one order. Once the form is on its way to the server (and from there
// to the payment page), its button is disabled so a double click cannot open two payments,
// and the form says what is happening (read out: a status region), as Stripe may take seconds.
// No inline scripts (CSP).
(() => {
  "use strict";

  const form = document.querySelector("[data-checkout-form]");
  if (!form) {
    return;
  }
  const status = form.querySelector("[data-checkout-status]");
  form.addEventListener("submit", () => {
    const button = form.querySelector("[type=submit]");
    if (button) {
      // After the submit event, so the browser still sends the form.
      window.setTimeout(() => {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        if (status) status.textContent = status.dataset.message;
      }, 0);
    }
  });
  // Back from the payment page through the browser's history: the button works again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      const button = form.querySelector("[type=submit]");
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      }
      if (status) status.textContent = "";
    }
  });
})();
