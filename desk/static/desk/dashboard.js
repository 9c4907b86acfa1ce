/* The dashboard's charts. Each bar or point opens the queue of the cases behind it. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("charts").textContent);

  function chart(id, option, links) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var c = echarts.init(el);
    c.setOption(option);
    c.on("click", function (params) { if (links[params.dataIndex]) window.location.href = links[params.dataIndex]; });
    // The chart's box changes without the window's: the menu drawer opens after the
    // charts are drawn, and a card reflows; each change redraws the chart to its box.
    if (window.ResizeObserver) new ResizeObserver(function () { c.resize(); }).observe(el);
    else window.addEventListener("resize", function () { c.resize(); });
  }

  // The month axes: each "YYYY-MM" shortened to its month's two digits, the months'
  // span named once under the axis. Twelve labels of "2026-03" asked for more room than a
  // phone or a quarter of a desk gives them and ran into each other; two digits fit under
  // every bar. Should they still not fit, ECharts thins them out ("auto") and hides any
  // that would touch another (hideOverlap). The tooltip names the full month.
  function monthAxis(labels) {
    return {
      type: "category", data: labels,
      name: labels.length ? labels[0] + " – " + labels[labels.length - 1] : "",
      nameLocation: "middle", nameGap: 28, nameTextStyle: {color: "#546e7a"},
      axisLabel: {interval: "auto", hideOverlap: true, rotate: 0, formatter: function (value) { return value.slice(5, 7); }}
    };
  }

  function bars(id, d, horizontal) {
    var category = horizontal
      ? {type: "category", data: d.labels, inverse: true, axisLabel: {interval: 0, width: 120, overflow: "truncate"}}
      : monthAxis(d.labels);
    chart(id, {
      tooltip: {trigger: "axis"}, grid: {left: 8, right: 24, bottom: horizontal ? 8 : 32, top: 24, containLabel: true},
      xAxis: horizontal ? {type: "value", minInterval: 1} : category,
      yAxis: horizontal ? category : {type: "value", minInterval: 1},
      series: [{type: "bar", name: d.name, data: d.values, itemStyle: {color: id === "chart-overdue" ? "#c62828" : "#1565c0"}}]
    }, d.links);
  }

  bars("chart-months", data.months, false);
  bars("chart-categories", data.categories, true);
  bars("chart-overdue", data.overdue, true);
  chart("chart-rates", {
    tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {left: 8, right: 24, bottom: 32, top: 40, containLabel: true},
    xAxis: monthAxis(data.rates.labels), yAxis: {type: "value", min: 0, max: 100},
    series: data.rates.series.map(function (s) { return {type: "line", name: s.name, data: s.values, connectNulls: true}; })
  }, data.rates.links);
})();
