// Share page: copy buttons and the phone's own share sheet. No inline scripts (CSP).
//
// <button data-copy-target="#input">   copies the value of that input
// <button data-copy-text="...">        copies the given text
//   data-copied-label="..."            what the button says for a moment after copying
// <button data-share-url hidden>    shown only where navigator.share exists
(() => {
  "use strict";

  const status = document.querySelector("[data-copy-status]");

  function fallbackCopy(text) {
    // Older browsers and non-secure pages: copy through a selected, temporary text area.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "position-absolute top-0 start-0 opacity-0";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied;
  }

  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (error) {
        // Permission refused: try the old way below.
      }
    }
    return fallbackCopy(text);
  }

  function confirmCopied(button) {
    const label = button.getAttribute("data-copied-label");
    if (!label) {
      return;
    }
    if (!button.hasAttribute("data-label")) {
      button.setAttribute("data-label", button.textContent);
    }
    button.textContent = label;
    if (status) {
      status.textContent = label;
    }
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(() => {
      button.textContent = button.getAttribute("data-label");
    }, 2500);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy-target], [data-copy-text]");
    if (!button) {
      return;
    }
    let text = button.getAttribute("data-copy-text");
    const target = button.getAttribute("data-copy-target");
    if (text === null && target) {
      const input = document.querySelector(target);
      if (!input) {
        return;
      }
      input.select();
      text = input.value;
    }
    if (text && (await copy(text))) {
      confirmCopied(button);
    }
  });

  if (typeof navigator.share === "function") {
    document.querySelectorAll("[data-share-url]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", async () => {
        try {
          await navigator.share({
            url: button.getAttribute("data-share-url"),
          });
        } catch (error) {
          // The person closed the share sheet: nothing to do.
        }
      });
    });
  }
})();
