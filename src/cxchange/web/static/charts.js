// cxCharts: small wrappers around Plotly (served from /vendor/plotly.min.js) for server-rendered pages.
//
// Data comes from JSON embedded in the page:
//   <script type="application/json" id="my-data">{{ data | script_json }}</script>
//   <div class="cx-chart" data-chart="band" data-source="my-data" aria-label="…"></div>
// cxCharts.auto() (run on DOMContentLoaded) draws every [data-chart] element; or call directly:
//   cxCharts.line(el, {series: [{name, x: [...], y: [...]}], yTitle})
//   cxCharts.band(el, {x, y, low, high, n?, name?, yTitle?, yRange?})  // line + shaded interval
//   cxCharts.bar(el, {x, y, low?, high?, name?, yTitle?, horizontal?})
// Text from the data is set as plain text by Plotly; nothing here builds HTML from data.
(function () {
  "use strict";
  const COLORS = ["#4a7bd0", "#d0763c", "#3c9a6b", "#8a5cc2", "#c23c5a"];
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };

  function layout(opts) {
    return {
      margin: { l: 48, r: 12, t: 12, b: 40 },
      height: opts.height || 320,
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
      font: { family: "system-ui, sans-serif", size: 12, color: "#1d2330" },
      hovermode: "x unified",
      showlegend: opts.legend !== undefined ? opts.legend : true,
      legend: { orientation: "h", y: -0.18 },
      xaxis: { title: { text: opts.xTitle || "" }, automargin: true },
      yaxis: { title: { text: opts.yTitle || "" }, range: opts.yRange, zeroline: true, automargin: true },
    };
  }

  function draw(el, traces, opts) {
    if (!window.Plotly) {
      el.textContent = "Chart unavailable (Plotly did not load); see the table below.";
      return Promise.resolve(null);
    }
    return window.Plotly.newPlot(el, traces, layout(opts || {}), CONFIG);
  }

  function line(el, data) {
    const traces = (data.series || []).map((s, i) => ({
      type: "scatter",
      mode: "lines+markers",
      name: s.name || "",
      x: s.x,
      y: s.y,
      line: { color: s.color || COLORS[i % COLORS.length], width: 2 },
    }));
    return draw(el, traces, data);
  }

  function band(el, data) {
    const color = data.color || COLORS[0];
    const name = data.name || "score";
    const label = data.bandName || "95 % interval";
    const n = data.n || [];
    const traces = [
      { type: "scatter", mode: "lines", x: data.x, y: data.high, line: { width: 0 },
        hoverinfo: "skip", showlegend: false, name: label },
      { type: "scatter", mode: "lines", x: data.x, y: data.low, line: { width: 0 }, fill: "tonexty",
        fillcolor: "rgba(74,123,208,0.18)", name: label, hoverinfo: "skip" },
      { type: "scatter", mode: "lines+markers", x: data.x, y: data.y, name: name,
        line: { color: color, width: 2 }, marker: { size: 5 },
        customdata: data.x.map((_, i) => [data.low[i], data.high[i], n[i]]),
        hovertemplate: "%{y} (95 % CI %{customdata[0]} – %{customdata[1]}, n = %{customdata[2]})<extra>" +
          name.replace(/[<>&]/g, "") + "</extra>" },
    ];
    return draw(el, traces, data);
  }

  function bar(el, data) {
    const horizontal = !!data.horizontal;
    const err = data.low && data.high ? {
      type: "data", symmetric: false,
      array: data.y.map((v, i) => (data.high[i] == null || v == null ? null : data.high[i] - v)),
      arrayminus: data.y.map((v, i) => (data.low[i] == null || v == null ? null : v - data.low[i])),
    } : undefined;
    const trace = { type: "bar", name: data.name || "", marker: { color: data.color || COLORS[0] } };
    if (horizontal) Object.assign(trace, { orientation: "h", x: data.y, y: data.x, error_x: err });
    else Object.assign(trace, { x: data.x, y: data.y, error_y: err });
    return draw(el, [trace], Object.assign({ legend: false }, data));
  }

  function auto(root) {
    (root || document).querySelectorAll("[data-chart][data-source]").forEach((el) => {
      const src = document.getElementById(el.dataset.source);
      const kind = el.dataset.chart;
      if (!src || !api[kind]) return;
      let data = JSON.parse(src.textContent);
      if (el.dataset.key) data = data[el.dataset.key];
      if (data) api[kind](el, Object.assign({}, data, el.dataset.ytitle ? { yTitle: el.dataset.ytitle } : {}));
    });
  }

  const api = { line, band, bar, auto };
  window.cxCharts = api;
  document.addEventListener("DOMContentLoaded", () => auto());
})();
