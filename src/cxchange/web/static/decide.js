// Decide page: driver bars and the importance–performance quadrant (Plotly), and the simulator on the
// page's metric (sliders -> POST /api/simulate, debounced; only the latest answer is shown).
(function () {
  "use strict";

  function readJSON(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  const signed = (v, digits = 1) => (v === null || v === undefined ? "–" : (v >= 0 ? "+" : "") + Number(v).toFixed(digits));
  // Plotly reads a little HTML (<b>, <a href>…) in labels: theme names are user data, so escape them.
  const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const narrow = () => window.matchMedia("(max-width: 700px)").matches;
  const config = { responsive: true, displayModeBar: false };
  const font = { family: "system-ui, sans-serif", size: 12, color: "#1d2330" };

  function driverChart(data) {
    const el = document.getElementById("driver-chart");
    if (!el || !window.Plotly || !data.drivers.length) return;
    const rows = data.drivers.slice().reverse(); // Plotly draws the first bar at the bottom
    const pct = (v) => (v === null ? null : 100 * v);
    const x = rows.map((d) => pct(d.importance));
    const trace = {
      type: "bar",
      orientation: "h",
      y: rows.map((d) => esc(d.driver)),
      x,
      marker: { color: rows.map((d) => (d.direction === "-" ? "#c8453b" : "#2e8b57")) },
      error_x: {
        type: "data",
        symmetric: false,
        array: rows.map((d, i) => (d.ci_high === null ? 0 : pct(d.ci_high) - x[i])),
        arrayminus: rows.map((d, i) => (d.ci_low === null ? 0 : x[i] - pct(d.ci_low))),
        color: "#1d2330",
        thickness: 1.2,
        width: 3,
      },
      customdata: rows.map((d) => [pct(d.ci_low), pct(d.ci_high), d.share_pct, d.direction === "-" ? "lowers" : "raises"]),
      hovertemplate:
        "<b>%{y}</b><br>importance %{x:.2f} (95 % CI %{customdata[0]:.2f}–%{customdata[1]:.2f})" +
        `<br>%{customdata[2]:.1f} % of R², %{customdata[3]} ${esc(data.label || "NPS")}<extra></extra>`,
    };
    Plotly.newPlot(
      el,
      [trace],
      {
        font,
        height: Math.max(260, 34 * rows.length + 80),
        margin: { l: 10, r: 16, t: 10, b: 48 },
        xaxis: { title: { text: `R² points × 100 (n = ${data.n})` }, rangemode: "tozero", zeroline: true },
        yaxis: { automargin: true },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#fff",
      },
      config
    );
  }

  function quadrantChart(data) {
    const el = document.getElementById("quadrant-chart");
    if (!el || !window.Plotly) return;
    const pts = data.drivers.filter((d) => d.performance !== null);
    if (!pts.length) return;
    const xs = pts.map((d) => 100 * d.performance);
    const ys = pts.map((d) => 100 * d.importance);
    // The lines cross where the server's rule puts them (drivers.quadrant_lines: the medians), so the
    // chart's corners agree with `drivers --quadrant` and the report.
    const mx = 100 * data.lines.performance;
    const my = 100 * data.lines.importance;
    const xmax = Math.min(100, Math.max(...xs) + 8);
    const xmin = Math.max(0, Math.min(...xs) - 8);
    const ymax = Math.max(...ys) * 1.15 + 0.1;
    const ymin = -0.12 * ymax; // room under the points for the bottom quadrant labels
    const small = narrow();
    const height = small ? 380 : 400;
    const margin = { l: 56, r: 16, t: 10, b: 48 };
    const names = pts.map((d) => esc(d.driver));
    const trace = {
      type: "scatter",
      mode: "markers",
      x: xs,
      y: ys,
      hovertext: names,
      marker: { size: 10, color: pts.map((d) => (d.quadrant === "fix first" ? "#c8453b" : "#4a7bd0")) },
      cliponaxis: false,
      customdata: pts.map((d) => d.quadrant),
      hovertemplate:
        "<b>%{hovertext}</b><br>performance %{x:.1f} % positive<br>importance %{y:.2f}<br>%{customdata}<extra></extra>",
    };
    const corner = (x, y, text, xanchor, yanchor) => ({
      x, y, text, xref: "x", yref: "y", showarrow: false, xanchor, yanchor,
      font: { size: 11, color: "#5a6170" },
    });
    const plotW = Math.max(200, el.clientWidth - margin.l - margin.r);
    const plotH = height - margin.t - margin.b;
    const labels = placeLabels(
      pts.map((d, i) => ({
        name: names[i],
        chars: d.driver.length,
        px: ((xs[i] - xmin) / (xmax - xmin)) * plotW,
        py: ((ymax - ys[i]) / (ymax - ymin)) * plotH,
        x: xs[i],
        y: ys[i],
        weight: ys[i],
      })),
      plotW,
      plotH,
      small ? 10 : 11
    );
    Plotly.newPlot(
      el,
      [trace],
      {
        font,
        height,
        margin,
        showlegend: false,
        xaxis: { title: { text: "performance: % of mentions positive" }, range: [xmin, xmax], zeroline: false },
        yaxis: { title: { text: "importance (R² × 100)" }, range: [ymin, ymax], zeroline: false },
        shapes: [
          { type: "line", x0: mx, x1: mx, y0: ymin, y1: ymax, line: { color: "#8a909c", dash: "dot", width: 1 } },
          { type: "line", x0: xmin, x1: xmax, y0: my, y1: my, line: { color: "#8a909c", dash: "dot", width: 1 } },
        ],
        annotations: [
          corner(xmin, ymax, "fix first", "left", "top"),
          corner(xmax, ymax, "keep up", "right", "top"),
          corner(xmin, ymin, "monitor", "left", "bottom"),
          corner(xmax, ymin, "maintain", "right", "bottom"),
          ...labels,
        ],
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#fff",
      },
      config
    );
  }

  // Greedy label placement: the most important point first, each label at the first free spot
  // (beside the point, then further up or down with a leader line); no free spot, no label (hover).
  function placeLabels(points, width, height, size) {
    const boxes = points.map((p) => ({ x0: p.px - 6, x1: p.px + 6, y0: p.py - 6, y1: p.py + 6 }));
    boxes.push({ x0: 0, x1: 70, y0: 0, y1: 16 }, { x0: width - 70, x1: width, y0: 0, y1: 16 }); // corner labels
    boxes.push({ x0: 0, x1: 70, y0: height - 16, y1: height }, { x0: width - 70, x1: width, y0: height - 16, y1: height });
    const free = (b) =>
      b.x0 >= 0 && b.x1 <= width && b.y0 >= 0 && b.y1 <= height &&
      boxes.every((o) => b.x1 <= o.x0 || b.x0 >= o.x1 || b.y1 <= o.y0 || b.y0 >= o.y1);
    const out = [];
    const order = points.map((p, i) => i).sort((a, b) => points[b].weight - points[a].weight);
    for (const i of order) {
      const p = points[i];
      const w = p.chars * size * 0.6 + 4;
      const h = size + 4;
      const offsets = [];
      for (let step = 0; step <= 7; step++) {
        const dy = step * (h + 2);
        for (const sign of step ? [-1, 1] : [1]) {
          offsets.push([w / 2 + 9, sign * dy], [-(w / 2 + 9), sign * dy]);
        }
        if (step) offsets.push([0, -(dy + h / 2 + 4)], [0, dy + h / 2 + 4]);
      }
      for (const [ax, ay] of offsets) {
        const cx = p.px + ax;
        const cy = p.py + ay;
        const box = { x0: cx - w / 2, x1: cx + w / 2, y0: cy - h / 2, y1: cy + h / 2 };
        if (!free(box)) continue;
        boxes.push(box);
        const far = Math.abs(ay) > h;
        out.push({
          x: p.x, y: p.y, xref: "x", yref: "y", text: p.name, ax, ay, axref: "pixel", ayref: "pixel",
          showarrow: true, arrowhead: 0, arrowwidth: 0.8, arrowcolor: far ? "#8a909c" : "rgba(0,0,0,0)",
          standoff: 5, font: { size, color: "#1d2330" },
        });
        break;
      }
    }
    return out;
  }

  function simulator() {
    const form = document.getElementById("simulator");
    const conf = readJSON("sim-config");
    if (!form || !conf) return;
    const sliders = Array.from(form.querySelectorAll("input[type=range]"));
    const projected = document.getElementById("sim-projected");
    const interval = document.getElementById("sim-interval");
    const detail = document.getElementById("sim-detail");
    const status = document.getElementById("sim-status");
    const output = document.getElementById("sim-output");
    const base = conf.baseline;
    const label = conf.label || "NPS";
    const digits = conf.metric === "ces" || conf.metric === "rating" ? 2 : 1; // means of a 1–5 or 1–7 scale
    const f = (v) => fmt(v, digits);
    const s = (v) => signed(v, digits);
    let timer = null;
    let seq = 0;

    function showBaseline() {
      projected.textContent = f(base.score);
      interval.textContent = `[${f(base.ci_low)}, ${f(base.ci_high)}]`;
      detail.textContent = `Nothing fixed yet: baseline ${label} ${f(base.score)}, 95 % CI ${f(base.ci_low)} – ${f(base.ci_high)}, n = ${base.n}.`;
      document.getElementById("sim-assumptions").hidden = true;
      output.classList.remove("up", "down");
    }

    function show(res) {
      projected.textContent = f(res.projected);
      interval.textContent = `[${f(res.ci_low)}, ${f(res.ci_high)}]`;
      const fixes = res.fixes.map((f) => `${f.theme} ${Math.round(100 * f.share)} %`).join(", ");
      detail.textContent =
        `From ${f(res.baseline)} to ${f(res.projected)} (95 % CI ${f(res.ci_low)} – ${f(res.ci_high)}): ` +
        `change ${s(res.delta)} [${s(res.delta_ci_low)}, ${s(res.delta_ci_high)}]; ` +
        `${res.customers_affected} of n = ${res.n} respondents affected. Fixed: ${fixes}.`;
      document.getElementById("sim-method").textContent = res.method;
      const list = document.getElementById("sim-assumption-list");
      list.replaceChildren(...res.assumptions.map((a) => Object.assign(document.createElement("li"), { textContent: a })));
      document.getElementById("sim-assumptions").hidden = false;
      output.classList.toggle("up", res.delta > 0);
      output.classList.toggle("down", res.delta < 0);
    }

    async function run() {
      const fix = sliders
        .filter((s) => Number(s.value) > 0)
        .map((s) => `${s.dataset.theme}=${(Number(s.value) / 100).toFixed(2)}`);
      const mine = ++seq;
      if (!fix.length) {
        status.textContent = "";
        showBaseline();
        return;
      }
      status.textContent = "Calculating…";
      output.setAttribute("aria-busy", "true");
      try {
        const res = await cx.api("/api/simulate", {
          method: "POST",
          json: { fix, where: conf.where, draws: conf.draws, metric: conf.metric },
        });
        if (mine !== seq) return; // a newer slider position is on its way
        show(res);
        status.textContent = "";
      } catch (err) {
        if (mine === seq) status.textContent = `Could not simulate: ${err.message}`;
      } finally {
        if (mine === seq) output.removeAttribute("aria-busy");
      }
    }

    function changed(ev) {
      const s = ev.target;
      if (!s.matches || !s.matches("input[type=range]")) return;
      document.getElementById(`${s.id}-out`).textContent = `${s.value} %`;
      s.setAttribute("aria-valuetext", `${s.value} % of complaints fixed`);
      clearTimeout(timer);
      timer = setTimeout(run, 350);
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", (ev) => ev.preventDefault());
    document.getElementById("sim-reset").addEventListener("click", () => {
      for (const s of sliders) {
        s.value = 0;
        document.getElementById(`${s.id}-out`).textContent = "0 %";
        s.removeAttribute("aria-valuetext");
      }
      clearTimeout(timer);
      run();
    });
  }

  function init() {
    const data = readJSON("driver-data");
    if (data) {
      driverChart(data);
      quadrantChart(data);
    }
    simulator();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
