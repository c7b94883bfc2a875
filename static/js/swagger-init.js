// Starts the vendored Swagger UI without inline script (the CSP forbids it).
(function () {
  var el = document.getElementById("swagger-ui-container");
  var config = { url: el.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var extra = JSON.parse(el.dataset.config || "{}");
  Object.keys(extra).forEach(function (k) { config[k] = extra[k]; });
  window.ui = SwaggerUIBundle(config);
})();
