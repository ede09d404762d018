/* Draws every chart of a dashboard page from the JSON beside it: <script type="application/json"
   class="figure-data" data-target="chart-id">. The JSON comes from the server with <, > and & escaped;
   JSON.parse reads it as data, never as code.

   The charts on the first screen are drawn first; the others one at a time after them, each in a task of its
   own (so the page answers taps and scrolling in between), the one scrolled to jumping the queue. When the
   first screen's charts are drawn, window.__firstScreenDrawnAt says so; when all are, <html
   data-charts-drawn="N"> and window.__chartsDrawnAt (ms since navigation start), for tests and timing.

   The panel's heading above each chart is the chart's title (a real heading, which wraps on a phone), so the
   figure's own title is not drawn again. The margins are measured here before drawing, so Plotly's own
   measuring (automargin, hiding tick labels past the edge) is switched off: it measured every label on the
   page, one forced layout each, and laid each chart out twice.

   A bar or point whose data carries a URL (customdata) leads there when clicked. An axis title that does not
   fit a narrow chart is wrapped, and the value axis's title gets the room it needs. On a phone the chart
   toolbar is hidden and charts do not capture the page's scrolling. */
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

  function wrap(text, width, box) {
    // The title's words on lines of at most `width` px, given its drawn box on one line.
    var words = String(text).split(/\s+|<br>/);
    var perChar = box.width / Math.max(String(text).replace(/<br>/g, " ").length, 1);
    var most = Math.max(8, Math.floor(width / perChar));
    var lines = [];
    words.forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= most) lines[last] += " " + word;
      else lines.push(word);
    });
    return lines.join("<br>");
  }

  var measure = document.createElement("canvas").getContext("2d");

  function widest(texts, font) {
    // The widest line of these texts (Plotly's own little HTML removed) in px, in the figure's font.
    measure.font = font;
    var most = 0;
    texts.forEach(function (text) {
      String(text).split(/<br>/).forEach(function (line) {
        var plain = line.replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
        most = Math.max(most, measure.measureText(plain).width);
      });
    });
    return most;
  }

  function valueLabels(figure, axis) {
    // The longest labels a numeric axis may get: its data's extremes at the precision its range needs.
    var values = [];
    figure.data.forEach(function (trace) {
      (trace[axis] || []).forEach(function (v) { if (typeof v === "number") values.push(v); });
    });
    if (!values.length) return [];
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var digits = high - low < 2 ? 2 : high - low < 20 ? 1 : 0;
    return [low, high].map(function (v) { return "\u2212" + Math.abs(v).toFixed(digits); });
  }

  function room(figure, width) {
    // Margins that hold the axes' labels and titles, the legend, notes above the plot and text beside bars,
    // measured before drawing, so that Plotly's own measuring can be off and each chart is laid out once.
    var layout = figure.layout;
    var base = (layout.template && layout.template.layout && layout.template.layout.font) || {};
    var size = (layout.font && layout.font.size) || base.size || 12;
    var family = (layout.font && layout.font.family) || base.family || "sans-serif";
    var font = size + "px " + family;
    var line = size * 1.35;
    var x = layout.xaxis || {}, y = layout.yaxis || {};
    var horizontal = figure.data.some(function (t) { return t.orientation === "h"; });
    var yLabels = y.ticktext || (horizontal ? figure.data[0].y || [] : valueLabels(figure, "y"));
    var margin = layout.margin || {};
    var hasTitle = function (axis) { return Boolean(axis.title && axis.title.text); };
    var left = Math.max(margin.l || 0, Math.ceil(widest(yLabels, font) + 12 + (hasTitle(y) ? line + 10 : 0)));
    var xTitleLines = 0;
    if (hasTitle(x)) {
      // A title wider than the plot is wrapped now, not after drawing (which would lay the chart out again).
      var plotWidth = width - left - (margin.r || 0) - 8;
      if (widest([x.title.text], font) > plotWidth) {
        x.title.text = wrap(x.title.text, plotWidth, { width: widest([x.title.text], font) });
      }
      xTitleLines = x.title.text.split("<br>").length;
    }
    var bottom = (x.type === "date" ? 2 : 1) * line + 14 + xTitleLines * line + (xTitleLines ? 10 : 0);
    var legend = figure.data.filter(function (t) { return t.showlegend !== false && t.name; });
    if (layout.showlegend !== false && legend.length > 1) {
      var across = legend.reduce(function (sum, t) { return sum + widest([t.name], font) + 50; }, 0);
      bottom += Math.ceil(across / Math.max(width * 0.9, 1)) * (line + 8) + 10;
    }
    if (hasTitle(y)) {
      // A value axis's title longer than the plot is tall is wrapped too, one more line of left margin each.
      var plotHeight = (layout.height || 340) - (margin.t || 0) - bottom - 8;
      if (widest([y.title.text], font) > plotHeight) {
        y.title.text = wrap(y.title.text, plotHeight, { width: widest([y.title.text], font) });
        left += Math.ceil((y.title.text.split("<br>").length - 1) * line);
      }
    }
    var right = barTextRoom(figure, width - left, margin.r || 0, font);
    var top = notesRoom(layout, family, width - left - 8, margin.t || 0);
    return Object.assign({}, margin, {
      l: left, r: right, t: top, b: Math.max(margin.b || 0, Math.ceil(bottom) + 3),
    });
  }

  function notesRoom(layout, family, across, top) {
    // A note above the plot (an annotation at the top of the paper) is wrapped to the plot's width and
    // gets its lines of top margin.
    var most = top;
    (layout.annotations || []).forEach(function (note) {
      if (note.yref !== "paper" || !(note.y >= 1) || !note.text) return;
      var size = (note.font && note.font.size) || 12;
      var font = size + "px " + family;
      var drawn = widest([note.text], font);
      if (drawn > across) note.text = wrap(note.text, across, { width: drawn });
      most = Math.max(most, Math.ceil(top + note.text.split("<br>").length * size * 1.35 + 4));
    });
    return most;
  }

  function barTextRoom(figure, across, right, font) {
    // The right margin that holds the text beside horizontal bars ("111x"), drawn past the plot's edge
    // (cliponaxis off) instead of being cut there; text that fits inside its bar needs none.
    figure.data.forEach(function (trace) {
      if (trace.type !== "bar" || trace.orientation !== "h" || !Array.isArray(trace.text)) return;
      trace.cliponaxis = false;
      var most = Math.max.apply(null, (trace.x || []).filter(function (v) { return v > 0; }).concat([0]));
      (trace.x || []).forEach(function (value, i) {
        var share = value > 0 && most > 0 ? value / most : 0;
        var text = widest([trace.text[i] || ""], font) + 8;
        if (share === 0 || text < share * (across - right)) return;
        right = Math.max(right, Math.ceil(across - (across - text) / share));
      });
    });
    return Math.min(right, Math.floor(across / 2));
  }

  function shortBarText(figure) {
    // On a phone the text beside a bar is its first part only (the count); the rest is in its hover label.
    figure.data.forEach(function (trace) {
      if (Array.isArray(trace.text)) {
        trace.text = trace.text.map(function (t) { return String(t).split(" \u00b7 ")[0]; });
      }
    });
  }

  function measuredHere(layout, phone) {
    // The title is the panel's heading; the margins are room()'s (the top one holds the toolbar on a desk).
    delete layout.title;
    layout.margin = Object.assign({}, layout.margin, { t: phone ? 12 : 32 });
    ["xaxis", "yaxis"].forEach(function (name) {
      layout[name] = Object.assign({}, layout[name], { automargin: false, ticklabeloverflow: "allow" });
    });
  }

  function fit(plot) {
    // One relayout for what is cut at the chart's edges: a long x title wrapped, room for the y title.
    var update = {};
    var box = plot.getBoundingClientRect();
    var size = plot._fullLayout._size;
    var xtitle = plot.querySelector(".g-xtitle text");
    if (xtitle && plot._fullLayout.xaxis) {
      var r = xtitle.getBoundingClientRect();
      var centre = box.left + size.l + size.w / 2;
      var room = 2 * Math.min(centre - box.left, box.right - centre) - 8;
      if (r.width > room) update["xaxis.title.text"] = wrap(plot._fullLayout.xaxis.title.text, room, r);
    }
    var ytitle = plot.querySelector(".g-ytitle text");
    if (ytitle) {
      var y = ytitle.getBoundingClientRect();
      if (y.left < box.left + 2) update["margin.l"] = size.l + (box.left + 4 - y.left);
    }
    return Object.keys(update).length ? window.Plotly.relayout(plot, update) : Promise.resolve(plot);
  }

  function draw(node, phone) {
    var target = document.getElementById(node.getAttribute("data-target"));
    if (!target) return Promise.resolve(null);
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
      shortBarText(figure);
    }
    measuredHere(figure.layout, phone);
    figure.layout.margin = room(figure, target.clientWidth);
    return window.Plotly.newPlot(target, figure.data, figure.layout, config).then(function (plot) {
      plot.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        var url = point && point.customdata;
        if (typeof url === "string" && url.charAt(0) === "/") window.location.assign(url);
      });
      return fit(plot);
    });
  }

  function onFirstScreen(node) {
    var target = document.getElementById(node.getAttribute("data-target"));
    if (!target) return false;
    var r = target.getBoundingClientRect();
    return r.top < window.innerHeight && r.bottom > 0;
  }

  function drawAll() {
    if (window.performance && performance.mark) performance.mark("charts-start");
    if (typeof window.Plotly === "undefined") {
      fail("The charts could not be drawn: plotly.js did not load. The data downloads still work.");
      return;
    }
    var phone = window.matchMedia("(max-width: 47.99rem)").matches;
    var nodes = Array.prototype.slice.call(document.querySelectorAll("script.figure-data"));
    var first = nodes.filter(onFirstScreen);
    var queue = nodes.filter(function (node) { return first.indexOf(node) < 0; });
    var total = nodes.length;
    var drawn = 0;

    function done() {
      drawn += 1;
      if (drawn === total) {
        window.__chartsDrawnAt = performance.now();
        document.documentElement.setAttribute("data-charts-drawn", String(total));
      }
    }

    function next() {
      // The first waiting chart that is on the screen now, else the next in the page's order; the page gets
      // its turn (taps, scrolling, a frame) once a task has drawn for 50 ms, not after every chart.
      if (!queue.length) return;
      var index = Math.max(0, queue.findIndex(onFirstScreen));
      var node = queue.splice(index, 1)[0];
      var until = performance.now() + 50;
      draw(node, phone).then(function () {
        done();
        if (performance.now() < until) next();
        else setTimeout(next, 0);
      });
    }

    Promise.all(first.map(function (node) { return draw(node, phone).then(done); })).then(function () {
      window.__firstScreenDrawnAt = performance.now();
      document.documentElement.setAttribute("data-first-screen-drawn", String(first.length));
      next();
    });
    if (!total) {
      window.__chartsDrawnAt = performance.now();
      document.documentElement.setAttribute("data-charts-drawn", "0");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
