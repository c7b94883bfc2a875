// The user form: the ward list follows the chosen hospital, and only the scope fields the chosen
// role needs are shown (no page reload, no inline script). The server checks the same rules.
(function () {
  "use strict";
  document.querySelectorAll("[data-scope-form]").forEach(function (form) {
    var role = form.querySelector("select[name=role]");
    var hospital = form.querySelector("select[name=hospital]");
    var wards = form.querySelector("select[name=wards]");
    var region = form.querySelector("select[name=region]");
    var kinds = JSON.parse(role.getAttribute("data-scope-kinds") || "{}");

    function filterWards() {
      if (!wards) { return; }
      var h = hospital.value;
      var nurse = role.value === "nurse";
      Array.prototype.forEach.call(wards.options, function (o) {
        var show = h !== "" && o.getAttribute("data-hospital") === h && (!nurse || o.getAttribute("data-kind") === "clinical");
        o.hidden = !show;
        o.disabled = !show;
        if (!show) { o.selected = false; }
      });
      wards.size = Math.min(Math.max(wards.querySelectorAll("option:not([hidden])").length, 3), 10);
    }

    function filterRegions(kind) {
      if (!region) { return; }
      Array.prototype.forEach.call(region.options, function (o) {
        var level = o.getAttribute("data-level");
        o.hidden = level !== null && level !== kind;
        if (o.hidden && o.selected) { region.value = ""; }
      });
    }

    function showScope() {
      var kind = kinds[role.value] || "";
      form.querySelectorAll("[data-scope]").forEach(function (box) {
        box.hidden = box.getAttribute("data-scope").split(" ").indexOf(kind) < 0;
      });
      filterRegions(kind);
      filterWards();
    }

    role.addEventListener("change", showScope);
    hospital.addEventListener("change", filterWards);
    showScope();
  });
}());
