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

  // The chosen unit's 12 months: the three rates (left axis, %) and satisfaction (right, 1–5).
  var unitSelect = document.querySelector("[data-chart-unit]");
  function trend(el) {
    var u = data.units[unitSelect ? Number(unitSelect.value) || 0 : 0] || {};
    var line = function (key, axis, width) {
      return { name: data.seriesLabels[key], type: "line", yAxisIndex: axis, connectNulls: false,
               data: u[key] || [], lineStyle: { width: width }, symbolSize: 6 };
    };
    return { color: ["#0b6e4f", "#93a3b8", "#2563eb", "#b54708"], tooltip: { trigger: "axis" },
             legend: { top: 0 }, grid: { left: 40, right: 40, top: 40, bottom: 28 },
             xAxis: { type: "category", data: data.trendMonths },
             yAxis: [{ type: "value", min: 0, max: 100 }, { type: "value", min: 1, max: 5, splitLine: { show: false } }],
             series: [line("followup_rate", 0, 3), line("raw_rate", 0, 1.5), line("on_time_rate", 0, 2),
                      line("satisfaction", 1, 2)] };
  }

  function categories(el) {
    return { color: ["#2563eb"], tooltip: { trigger: "axis" }, grid: { left: 110, right: 30, top: 10, bottom: 24 },
             xAxis: { type: "value", minInterval: 1 },
             yAxis: { type: "category", data: data.categories, inverse: true },
             series: [{ name: data.opinionsLabel, type: "bar", data: data.categoryCounts,
                        label: { show: true, position: "right" } }] };
  }

  var builders = { satisfaction: satisfaction, rates: rates, trend: trend, categories: categories };
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var build = builders[el.getAttribute("data-chart")];
    if (!build) { return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(build(el));
    charts.push(chart);
    if (el.getAttribute("data-chart") === "trend" && unitSelect) {
      unitSelect.addEventListener("change", function () { chart.setOption(build(el), true); });
    }
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());
