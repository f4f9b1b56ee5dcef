// Perks: small progressive enhancements. No inline scripts anywhere (CSP).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A form the server refused comes back with its refused fields marked (aria-invalid, and
// described by their errors): the first of them takes the focus, so that a screen reader says
// which field and why, and the keyboard starts where the mending does. A page that puts the
// focus somewhere itself (autofocus) keeps it there.
const refused = document.querySelector("main [aria-invalid=true]");
if (refused && !document.querySelector("[autofocus]")) {
  refused.focus();
}

// A box that scrolls sideways (a wide table on a phone, a long line of text) can be scrolled
// with the keyboard: it takes the focus, as a region named after its table's caption or the
// heading above it. A box that does not scroll stays out of the tab order.
const scrollBoxes = ".table-responsive, pre, .overflow-auto, .overflow-x-auto";

function nameOf(box) {
  const caption = box.querySelector("caption");
  if (caption) return caption.textContent.trim();
  for (let node = box; node && node !== document.body; node = node.parentElement) {
    for (let before = node.previousElementSibling; before; before = before.previousElementSibling) {
      const heading = before.matches("h1, h2, h3, h4, h5, h6") ? before : before.querySelector("h1, h2, h3, h4, h5, h6");
      if (heading) return heading.textContent.trim();
    }
  }
  const title = document.querySelector("h1");
  return title ? title.textContent.trim() : document.title;
}

function markScrollBoxes() {
  for (const box of document.querySelectorAll(scrollBoxes)) {
    const scrolls = box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.dataset.scrollBox = box.hasAttribute("aria-label") ? "named" : "";
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", nameOf(box));
    } else if (!scrolls && box.dataset.scrollBox !== undefined) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      if (box.dataset.scrollBox !== "named") box.removeAttribute("aria-label");
      delete box.dataset.scrollBox;
    }
  }
}

markScrollBoxes();
window.addEventListener("resize", markScrollBoxes);
