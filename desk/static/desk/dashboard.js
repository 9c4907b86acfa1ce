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
    window.addEventListener("resize", function () { c.resize(); });
  }

  function bars(id, d, horizontal) {
    var category = {type: "category", data: d.labels, axisLabel: {interval: 0, rotate: horizontal ? 0 : 30}};
    chart(id, {
      tooltip: {trigger: "axis"}, grid: {left: horizontal ? 140 : 48, right: 24, bottom: 60, top: 24},
      xAxis: horizontal ? {type: "value", minInterval: 1} : category,
      yAxis: horizontal ? Object.assign(category, {inverse: true}) : {type: "value", minInterval: 1},
      series: [{type: "bar", name: d.name, data: d.values, itemStyle: {color: id === "chart-overdue" ? "#c62828" : "#1565c0"}}]
    }, d.links);
  }

  bars("chart-months", data.months, false);
  bars("chart-categories", data.categories, true);
  bars("chart-overdue", data.overdue, true);
  chart("chart-rates", {
    tooltip: {trigger: "axis"}, legend: {top: 0}, grid: {left: 48, right: 24, bottom: 40, top: 36},
    xAxis: {type: "category", data: data.rates.labels}, yAxis: {type: "value", min: 0, max: 100},
    series: data.rates.series.map(function (s) { return {type: "line", name: s.name, data: s.values, connectNulls: true}; })
  }, data.rates.links);
})();
