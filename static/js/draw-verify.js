// Checks a made draw in the browser, with nothing but the data published on its page.
//
// It repeats perks.catalog.draws exactly, by the draw's method. Both: SHA-256(seed) must
// equal the commitment published before the draw. Method 1: the entries sorted by (won
// recently?, hex of SHA-256(seed + ":" + key)) must give the published order. Method 2: the
// keys must be those of entries 1..n (first 10 hex characters of SHA-256(commitment + ":" +
// n), upper case); SHA-256 of the frozen list ("KEY 0|1\n" per key, alphabetical) must equal
// the published entries hash; the public value must be of a day after entries closed; and
// the entries sorted by (won recently?, hex of SHA-256(seed:entries hash:public value:key))
// must give the published order. Both: the places and outcomes shown must follow the order
// (each entry's place is its place in the order; seats went down the order: every entry
// before the last one offered a seat was offered one, the rest wait; no entry still pending;
// no more winners than seats), as draws._outcomes_follow checks. The data comes from a JSON block
// on the page (not executed, so the CSP allows it) or, for a draw too large to carry it there,
// from the file the button's data-source names (the same data anyone may download); the
// messages come translated from the button's data- attributes.
(() => {
  "use strict";

  const button = document.querySelector("[data-draw-verify]");
  const block = document.getElementById("draw-data");
  const output = document.getElementById("draw-verify-result");
  if (!button || !output || (!block && !button.dataset.source)) {
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

  async function drawOrder(prefix, keys, deprioritised) {
    const later = new Set(deprioritised);
    const scored = await Promise.all(
      [...new Set(keys)].map(async (key) => ({
        key,
        later: later.has(key),
        score: await sha256Hex(`${prefix}:${key}`),
      })),
    );
    return scored.sort(compare).map((entry) => entry.key);
  }

  function sameList(a, b) {
    return a.length === b.length && a.every((item, i) => item === b[i]);
  }

  // Keys and ISO dates are ASCII, so comparing UTF-16 code units sorts them as Python does.
  function ascending(a, b) {
    if (a === b) {
      return 0;
    }
    return a < b ? -1 : 1;
  }

  async function checkFrozenEntries(data) {
    const keys = [...new Set(data.keys)].sort(ascending);
    const expected = [];
    for (let n = 1; n <= keys.length; n += 1) {
      expected.push((await sha256Hex(`${data.commitment}:${n}`)).slice(0, 10).toUpperCase());
    }
    const later = new Set(data.deprioritised);
    const text = keys.map((key) => `${key} ${later.has(key) ? 1 : 0}\n`).join("");
    const lastKnown = [data.closed_on, data.frozen_on].sort(ascending)[1];
    return {
      keysOk: sameList(keys, expected.sort(ascending)),
      hashOk: (await sha256Hex(text)) === data.entries_hash,
      dateOk: data.public_value_date !== "" && data.public_value_date > lastKnown,
    };
  }

  function outcomesFollow(data) {
    const place = new Map(data.order.map((key, i) => [key, i + 1]));
    if (data.outcomes.some((entry) => entry.place !== place.get(entry.key))) {
      return false;
    }
    const ranked = [...data.outcomes].sort((a, b) => (a.place || 0) - (b.place || 0));
    const waiting = ranked.map((entry) => entry.outcome === "waiting");
    const offered = waiting.filter((wait) => !wait).length;
    if (waiting.slice(0, offered).some(Boolean) || ranked.some((e) => e.outcome === "pending")) {
      return false;
    }
    return ranked.filter((entry) => entry.outcome === "won").length <= data.seats;
  }

  function say(ok, okText, badText) {
    const line = document.createElement("li");
    line.textContent = ok ? okText : badText;
    line.classList.add(ok ? "text-success" : "text-danger", "fw-semibold");
    line.dataset.ok = ok ? "true" : "false";
    output.appendChild(line);
  }

  async function load() {
    if (block) {
      return JSON.parse(block.textContent);
    }
    const answer = await fetch(button.dataset.source, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!answer.ok) {
      throw new Error(`the draw's data answered ${answer.status}`);
    }
    return answer.json();
  }

  button.addEventListener("click", async () => {
    output.replaceChildren();
    if (!window.crypto || !window.crypto.subtle) {
      say(false, "", button.dataset.unavailable);
      return;
    }
    button.disabled = true;
    try {
      let data;
      try {
        data = await load();
      } catch {
        say(false, "", button.dataset.loadFailed);
        return;
      }
      const commitmentOk = (await sha256Hex(data.seed)) === data.commitment;
      say(commitmentOk, button.dataset.commitmentOk, button.dataset.commitmentBad);
      let prefix = data.seed;
      if (data.method >= 2) {
        const frozen = await checkFrozenEntries(data);
        say(frozen.keysOk, button.dataset.keysOk, button.dataset.keysBad);
        say(frozen.hashOk, button.dataset.hashOk, button.dataset.hashBad);
        say(frozen.dateOk, button.dataset.dateOk, button.dataset.dateBad);
        prefix = `${data.seed}:${data.entries_hash}:${data.public_value}`;
      }
      const order = await drawOrder(prefix, data.keys, data.deprioritised);
      say(sameList(order, data.order), button.dataset.orderOk, button.dataset.orderBad);
      say(outcomesFollow(data), button.dataset.outcomesOk, button.dataset.outcomesBad);
    } finally {
      button.disabled = false;
    }
  });
})();
