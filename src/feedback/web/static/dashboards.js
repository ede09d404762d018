/* Draws every chart of a dashboard page from the JSON beside it: <script type="application/json"
   class="figure-data" data-target="chart-id">. The JSON comes from the server with <, > and & escaped;
   JSON.parse reads it as data, never as code. When all charts are drawn, <html data-charts-drawn="N">
   and window.__chartsDrawnAt (ms since navigation start) say so, for tests and timing.
   A bar whose point carries a URL (customdata) leads there when clicked. On a phone the chart toolbar
   is hidden and charts do not capture the page's scrolling. */
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
    var phone = window.matchMedia("(max-width: 47.99rem)").matches;
    document.querySelectorAll("script.figure-data").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-target"));
      if (!target) return;
      var figure = JSON.parse(node.textContent);
      var config = {
        responsive: true,
        displaylogo: false,
        displayModeBar: phone ? false : "hover",
        scrollZoom: false,
        modeBarButtonsToRemove: ["sendDataToCloud", "select2d", "lasso2d"],
      };
      if (phone) {
        figure.layout.dragmode = false;
        // Room for the value axis's title, which automargin leaves cut on a narrow screen.
        figure.layout.margin = Object.assign({}, figure.layout.margin, { l: 34 });
        if (figure.layout.title) figure.layout.title.font = Object.assign({}, figure.layout.title.font, { size: 14 });
      }
      jobs.push(window.Plotly.newPlot(target, figure.data, figure.layout, config).then(function (plot) {
        plot.on("plotly_click", function (event) {
          var point = event && event.points && event.points[0];
          var url = point && point.customdata;
          if (typeof url === "string" && url.charAt(0) === "/") window.location.assign(url);
        });
        return plot;
      }));
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
