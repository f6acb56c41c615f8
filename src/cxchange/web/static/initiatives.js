// Charts of the initiative and sustain pages (Plotly from /vendor/plotly.min.js, data from
// <script type="application/json"> blocks), and the RACI grid's "unsaved changes" hint.
(function () {
  const COLORS = { pilot: "#2f6fd6", control: "#b0552a", units: "#2f6fd6" };
  const base = { margin: { l: 48, r: 16, t: 16, b: 40 }, font: { family: "system-ui, sans-serif", size: 13 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };
  const config = { displayModeBar: false, responsive: true };

  function data(el) {
    const src = document.getElementById(el.dataset.source);
    return src ? JSON.parse(src.textContent) : null;
  }

  function outcome(el, d) {
    const groups = [...new Set(d.series.map((s) => s.group))];
    const traces = groups.map((g) => {
      const pts = d.series.filter((s) => s.group === g);
      return {
        x: pts.map((s) => s.month), y: pts.map((s) => s.value), name: g, type: "scatter", mode: "lines+markers",
        line: { color: COLORS[g] || "#555", width: 2, dash: g === "control" ? "dot" : "solid" },
        customdata: pts.map((s) => s.n),
        hovertemplate: "%{x}: %{y:.1f} (n = %{customdata})<extra>" + g + "</extra>",
      };
    });
    const start = d.start.slice(0, 7);
    const layout = Object.assign({}, base, {
      height: 300, xaxis: { type: "category", title: "" }, yaxis: { title: d.metric, zeroline: true },
      legend: { orientation: "h", y: -0.2 },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: start, x1: start, y0: 0, y1: 1, line: { dash: "dash", color: "#1d2330", width: 1 } }],
      annotations: [{ x: start, y: 1, xref: "x", yref: "paper", text: "start", showarrow: false, yanchor: "bottom" }],
    });
    Plotly.newPlot(el, traces, layout, config);
  }

  function heatmap(el, d) {
    const z = d.z.map((row) => row.map((v) => (v === null ? null : v)));
    const trace = {
      type: "heatmap", x: d.months, y: d.units, z, text: d.text, colorscale: [[0, "#fff5e6"], [0.5, "#f2a541"], [1, "#a11d1d"]],
      zmin: 0, zmax: Math.max(d.threshold || 6, ...z.flat().filter((v) => v !== null)),
      hovertemplate: "%{y} %{x}: load %{z}<br>%{text}<extra></extra>", colorbar: { title: "load" },
    };
    const layout = Object.assign({}, base, {
      height: Math.max(220, 40 + 22 * d.units.length), margin: { l: 90, r: 16, t: 16, b: 60 },
      xaxis: { type: "category" }, yaxis: { type: "category", autorange: "reversed" },
    });
    Plotly.newPlot(el, [trace], layout, config);
  }

  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-chart]").forEach((el) => {
      const d = data(el);
      if (!d) return;
      if (el.dataset.chart === "outcome" && d.series.length) outcome(el, d);
      if (el.dataset.chart === "heatmap" && d.units.length) heatmap(el, d);
    });
  }

  function raciHint() {
    const form = document.getElementById("raci-form");
    const status = document.getElementById("raci-unsaved");
    if (!form || !status) return;
    form.addEventListener("change", (ev) => {
      if (ev.target.matches("select")) ev.target.closest("td").classList.add("changed");
      status.textContent = "Unsaved changes: press Save RACI.";
    });
  }

  document.addEventListener("DOMContentLoaded", () => { draw(); raciHint(); });
})();
