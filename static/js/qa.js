// Charts of the monthly summary (ECharts, vendored). The data comes from the page's
// data-charts attribute: the CSP forbids inline scripts.
(function () {
  "use strict";
  var holder = document.querySelector("[data-charts]");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.getAttribute("data-charts"));
  var palette = ["#0b6e4f", "#2563eb", "#b54708", "#7c3aed", "#b42318", "#0e7490"];

  function satisfaction(el) {
    var series = Object.keys(data.series).map(function (dim) {
      return { name: data.dimLabels[dim], type: "line", connectNulls: true, data: data.series[dim],
               lineStyle: { width: dim === "overall" ? 3 : 1.5 } };
    });
    return { color: palette, tooltip: { trigger: "axis" }, legend: { top: 0 },
             grid: { left: 36, right: 16, top: 48, bottom: 28 },
             xAxis: { type: "category", data: data.months }, yAxis: { type: "value", min: 1, max: 5 },
             series: series };
  }

  function rates(el) {
    return { color: palette, tooltip: { trigger: "axis" }, legend: { top: 0 },
             grid: { left: 40, right: 16, top: 40, bottom: 28 },
             xAxis: { type: "category", data: data.wards }, yAxis: { type: "value", min: 0, max: 100 },
             series: [{ name: data.labels.followup, type: "bar", data: data.rates.followup },
                      { name: data.labels.onTime, type: "bar", data: data.rates.onTime }] };
  }

  var builders = { satisfaction: satisfaction, rates: rates };
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var build = builders[el.getAttribute("data-chart")];
    if (!build) { return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(build(el));
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());
