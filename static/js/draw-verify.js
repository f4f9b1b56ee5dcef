// Checks a made draw in the browser, with nothing but the data published on its page.
//
// It repeats perks.catalog.draws.draw_order exactly: SHA-256(seed) must equal the commitment
// published before the draw, and the entries sorted by (won recently?, hex of
// SHA-256(seed + ":" + key)) must give the published order. The data comes from a JSON block
// on the page (not executed, so the CSP allows it); the messages come translated from the
// button's data- attributes.
(() => {
  "use strict";

  const button = document.querySelector("[data-draw-verify]");
  const block = document.getElementById("draw-data");
  const output = document.getElementById("draw-verify-result");
  if (!button || !block || !output) {
    return;
  }

  const encoder = new TextEncoder();

  async function sha256Hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // Python compares the (bool, str) tuples: False before True, then the hex text.
  function compare(a, b) {
    if (a.later !== b.later) {
      return a.later ? 1 : -1;
    }
    if (a.score === b.score) {
      return 0;
    }
    return a.score < b.score ? -1 : 1;
  }

  async function drawOrder(seed, keys, deprioritised) {
    const later = new Set(deprioritised);
    const scored = await Promise.all(
      [...new Set(keys)].map(async (key) => ({
        key,
        later: later.has(key),
        score: await sha256Hex(`${seed}:${key}`),
      })),
    );
    return scored.sort(compare).map((entry) => entry.key);
  }

  function say(ok, okText, badText) {
    const line = document.createElement("li");
    line.textContent = ok ? okText : badText;
    line.classList.add(ok ? "text-success" : "text-danger", "fw-semibold");
    line.dataset.ok = ok ? "true" : "false";
    output.appendChild(line);
  }

  button.addEventListener("click", async () => {
    output.replaceChildren();
    if (!window.crypto || !window.crypto.subtle) {
      say(false, "", button.dataset.unavailable);
      return;
    }
    button.disabled = true;
    try {
      const data = JSON.parse(block.textContent);
      const commitmentOk = (await sha256Hex(data.seed)) === data.commitment;
      const order = await drawOrder(data.seed, data.keys, data.deprioritised);
      const orderOk =
        order.length === data.order.length && order.every((key, i) => key === data.order[i]);
      say(commitmentOk, button.dataset.commitmentOk, button.dataset.commitmentBad);
      say(orderOk, button.dataset.orderOk, button.dataset.orderBad);
    } finally {
      button.disabled = false;
    }
  });
})();
