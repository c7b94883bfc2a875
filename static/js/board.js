// The ward board: "select all on this page" ticks every row's box (no inline script: CSP).
(function () {
  "use strict";
  var all = document.querySelector("[data-check-all]");
  if (!all) { return; }
  var boxes = function () { return document.querySelectorAll("input[name=task_id]"); };
  all.addEventListener("change", function () {
    boxes().forEach(function (b) { b.checked = all.checked; });
  });
}());
