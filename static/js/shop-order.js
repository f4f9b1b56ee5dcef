// Order page: while the payment is being confirmed, ask the server for the order's status
// and reload the page once it changes (the code and QR then appear). No inline scripts (CSP).
//
// <div data-order-status-url="/shop/orders/<token>/status" data-order-status="pending">
//   <p data-order-status-slow hidden>shown when it takes long</p>
(() => {
  "use strict";

  const box = document.querySelector("[data-order-status-url]");
  if (!box) {
    return;
  }
  const url = box.getAttribute("data-order-status-url");
  const initial = box.getAttribute("data-order-status");
  const slow = box.querySelector("[data-order-status-slow]");
  const started = Date.now();
  //: after this long, say so (the webhook may be delayed) but keep asking, less often
  const SLOW_AFTER_MS = 60 * 1000;
  //: stop asking after this long: the e-mail will bring the code
  const GIVE_UP_AFTER_MS = 30 * 60 * 1000;
  let delay = 1000;

  async function check() {
    const elapsed = Date.now() - started;
    if (elapsed > GIVE_UP_AFTER_MS) {
      return;
    }
    if (slow && elapsed > SLOW_AFTER_MS) {
      slow.hidden = false;
    }
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        credentials: "same-origin",
      });
      if (response.ok) {
        const data = await response.json();
        if (data.status && data.status !== initial) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // Offline for a moment: try again later.
    }
    delay = Math.min(delay * 1.5, elapsed > SLOW_AFTER_MS ? 15000 : 4000);
    window.setTimeout(check, delay);
  }

  window.setTimeout(check, delay);
})();
