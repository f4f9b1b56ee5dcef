// Background jobs: while a job waits or runs, ask the server how far it is, move the progress
// bar, and reload the page once its state changes (the result then appears). No inline
// scripts (CSP).
//
// <div data-job-status-url="/jobs/<token>/status" data-job-state="running">
//   <progress data-job-bar max="100"></progress> <span data-job-count></span>
//   <span data-job-label></span> <span data-job-stage></span> <span data-job-waiting></span>
(() => {
  "use strict";

  if (window.perksJobProgress) {
    return; // the script is on the page twice: one poller is enough
  }
  window.perksJobProgress = true;

  const locale = document.documentElement.lang || undefined;
  //: stop asking after this long; a reload starts again
  const GIVE_UP_AFTER_MS = 2 * 60 * 60 * 1000;

  function format(number) {
    try {
      return Number(number).toLocaleString(locale);
    } catch (error) {
      return String(number);
    }
  }

  // The box is a live region (role=status): a screen reader reads out what changes in it, so
  // a text is only written when it is new, never again at each question to the server.
  function write(element, text) {
    if (element.textContent !== text) {
      element.textContent = text;
    }
  }

  function show(box, data) {
    const bar = box.querySelector("[data-job-bar]");
    if (bar) {
      if (data.percent === null || data.percent === undefined) {
        bar.removeAttribute("value");
      } else if (bar.value !== data.percent) {
        bar.value = data.percent;
      }
    }
    const count = box.querySelector("[data-job-count]");
    if (count && data.total) {
      const template = count.getAttribute("data-job-count-template");
      write(
        count,
        template
          ? template.replace("{done}", format(data.done)).replace("{total}", format(data.total))
          : `${format(data.done)} / ${format(data.total)}`,
      );
    }
    const label = box.querySelector("[data-job-label]");
    if (label && data.label) {
      write(label, data.label);
    }
    const stage = box.querySelector("[data-job-stage]");
    if (stage && data.stage) {
      write(stage, data.stage);
    }
    const waiting = box.querySelector("[data-job-waiting]");
    if (waiting) {
      const hidden = data.state !== "queued";
      if (waiting.hidden !== hidden) {
        waiting.hidden = hidden;
      }
    }
  }

  function watch(box) {
    const url = box.getAttribute("data-job-status-url");
    const initial = box.getAttribute("data-job-state");
    const started = Date.now();
    let delay = 800;

    async function check() {
      if (Date.now() - started > GIVE_UP_AFTER_MS) {
        return;
      }
      try {
        const response = await fetch(url, {
          headers: { Accept: "application/json" },
          cache: "no-store",
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          if (data.finished || (data.state && data.state !== initial)) {
            window.location.reload();
            return;
          }
          show(box, data);
        }
      } catch (error) {
        // Offline for a moment: try again later.
      }
      delay = Math.min(delay * 1.3, 5000);
      window.setTimeout(check, delay);
    }

    window.setTimeout(check, delay);
  }

  document.querySelectorAll("[data-job-status-url]").forEach(watch);
})();
