// The counters' camera scanner (perk claims at /redeem, shop orders at /redeem-order; the
// scan_lookup macro of templates/_macros/scan.html): reads a QR code with the vendored jsQR
// decoder (static/vendor/jsqr) from the phone's camera, puts its text in the code field and
// looks it up. No inline script (CSP); the page's texts come from data-msg-* attributes.
(() => {
  "use strict";

  /** The text of the QR code in an ImageData, or null when there is none. */
  function decodeImageData(imageData) {
    if (typeof window.jsQR !== "function") {
      return null;
    }
    const found = window.jsQR(imageData.data, imageData.width, imageData.height, {
      inversionAttempts: "attemptBoth",
    });
    return found ? found.data : null;
  }

  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });

  /** Draw an image, a video frame or a canvas (its natural size) and decode it. */
  function decodeDrawable(source, width, height) {
    if (!width || !height) {
      return null;
    }
    canvas.width = width;
    canvas.height = height;
    context.drawImage(source, 0, 0, width, height);
    return decodeImageData(context.getImageData(0, 0, width, height));
  }

  /** Decode the QR code in the picture at `url` (same origin or a data: URL). */
  function decodeImageUrl(url) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(decodeDrawable(image, image.naturalWidth, image.naturalHeight));
      image.onerror = () => reject(new Error("the image could not be loaded"));
      image.src = url;
    });
  }

  // For pages and tests that hold a picture rather than a camera.
  window.perksScan = { decodeImageData, decodeImageUrl };

  const root = document.querySelector("[data-scan-root]");
  if (!root) {
    return;
  }
  const form = root.querySelector("form[data-scan-form]");
  const input = form.querySelector("input[name='code']");
  const startButton = root.querySelector("[data-scan-start]");
  const stopButton = root.querySelector("[data-scan-stop]");
  const panel = root.querySelector("[data-scan-panel]");
  const video = panel.querySelector("video");
  const status = panel.querySelector("[data-scan-status]");
  let stream = null;
  let frame = 0;

  function say(key) {
    status.textContent = root.dataset[key] || "";
  }

  function stopScanning() {
    if (frame) {
      cancelAnimationFrame(frame);
      frame = 0;
    }
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
    video.srcObject = null;
    panel.hidden = true;
    startButton.disabled = false;
  }

  function found(text) {
    stopScanning();
    input.value = text.trim();
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function scanFrame() {
    frame = 0;
    if (!stream) {
      return;
    }
    if (video.readyState >= video.HAVE_CURRENT_DATA) {
      const text = decodeDrawable(video, video.videoWidth, video.videoHeight);
      if (text) {
        found(text);
        return;
      }
    }
    frame = requestAnimationFrame(scanFrame);
  }

  async function startScanning() {
    startButton.disabled = true;
    panel.hidden = false;
    say("msgStarting");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
      video.srcObject = stream;
      await video.play();
      say("msgScanning");
      frame = requestAnimationFrame(scanFrame);
    } catch (error) {
      stopScanning();
      panel.hidden = false;
      say("msgDenied");
    }
  }

  if (navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function") {
    startButton.hidden = false;
    startButton.addEventListener("click", startScanning);
    stopButton.addEventListener("click", stopScanning);
    window.addEventListener("pagehide", stopScanning);
  }
})();
