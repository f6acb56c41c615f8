// Themes pages: busy labels on the analysis buttons, and the impact chart (data in #impact-data).
// A static file, not inline script: the pages' Content-Security-Policy allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-busy]").forEach((b) => b.form.addEventListener("submit", () => {
    b.textContent = b.dataset.busy; b.setAttribute("aria-busy", "true");
  }));
  const el = document.getElementById("impact-chart");
  if (!el || !window.Plotly) return;
  const rows = JSON.parse(document.getElementById("impact-data").textContent).slice().reverse();
  const unit = (rows[0] && rows[0].unit) || "NPS points";  // the metric's points: NPS, CSAT, CES, rating
  Plotly.newPlot(el, [{
    type: "scatter", mode: "markers", orientation: "h",
    y: rows.map((r) => r.name), x: rows.map((r) => r.impact),
    error_x: { type: "data", symmetric: false, array: rows.map((r) => r.high - r.impact),
               arrayminus: rows.map((r) => r.impact - r.low), color: "#8a909c" },
    marker: { size: 9, color: rows.map((r) => r.small ? "#b9bfca" : (r.impact < 0 ? "#a11d1d" : "#2f8f5b")) },
    text: rows.map((r) => "n = " + r.n), hovertemplate: "%{y}: %{x:+.2f} " + unit + " (%{text})<extra></extra>",
  }], {
    margin: { l: 10, r: 10, t: 10, b: 40 }, height: Math.max(240, 26 * rows.length + 60),
    xaxis: { title: unit, zeroline: true, zerolinecolor: "#1d2330" },
    yaxis: { automargin: true }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  }, { responsive: true, displayModeBar: false });
});
