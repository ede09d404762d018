/* Draws every chart of a dashboard page from the JSON beside it: <script type="application/json"
   class="figure-data" data-target="chart-id">. The JSON comes from the server with <, > and & escaped;
   JSON.parse reads it as data, never as code. When all charts are drawn, <html data-charts-drawn="N">
   and window.__chartsDrawnAt (ms since navigation start) say so, for tests and timing. */
(function () {
  "use strict";

  function fail(message) {
    var main = document.getElementById("main");
    if (!main) return;
    var p = document.createElement("p");
    p.className = "error-summary";
    p.setAttribute("role", "alert");
    p.textContent = message;
    main.insertBefore(p, main.firstChild);
  }

  function drawAll() {
    if (typeof window.Plotly === "undefined") {
      fail("The charts could not be drawn: plotly.js did not load. The data downloads still work.");
      return;
    }
    var jobs = [];
    document.querySelectorAll("script.figure-data").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-target"));
      if (!target) return;
      var figure = JSON.parse(node.textContent);
      var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };
      jobs.push(window.Plotly.newPlot(target, figure.data, figure.layout, config));
    });
    Promise.all(jobs).then(function () {
      window.__chartsDrawnAt = performance.now();
      document.documentElement.setAttribute("data-charts-drawn", String(jobs.length));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
