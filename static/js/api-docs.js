// The API's documentation page (/api/v1/docs): Swagger UI, served from this origin
// (static/vendor/swagger-ui), reading the document named by the page's data-spec-url.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    // no deep links: their anchor sits inside each operation's button (nested controls)
    deepLinking: false,
    validatorUrl: null, // never ask an outside validator
  });
})();
