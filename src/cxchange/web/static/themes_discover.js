// Discover themes: busy labels on long-running buttons, and the analysis progress bar, polled from
// /themes/analysis/progress (read from the database, so it follows an analysis any worker started).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-busy]").forEach((b) => b.form.addEventListener("submit", () => {
    b.textContent = b.dataset.busy; b.setAttribute("aria-busy", "true");
  }));
  const box = document.getElementById("analysis");
  if (!box || box.dataset.running !== "true") return;
  const bar = document.getElementById("analysis-bar");
  const state = document.getElementById("analysis-state");
  const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = String(v); };
  let waits = 0;  // just started: the run may not be recorded yet, so "not running" is not yet "done"
  const tick = async () => {
    try {
      const r = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(String(r.status));
      const p = await r.json();
      bar.max = Math.max(p.comments, 1); bar.value = p.analysed;
      set("n-analysed", p.analysed); set("n-comments", p.comments); set("n-not-analysed", p.not_analysed);
      const starting = !p.running && p.not_analysed > 0 && waits++ < 10;
      if (p.running || starting) { state.textContent = "Analysing… " + p.analysed + " of " + p.comments; setTimeout(tick, 1500); }
      else { state.textContent = "Analysis finished."; box.querySelector("button").disabled = false; }
    } catch (e) { state.textContent = "Could not read the progress (" + e.message + "): reload the page."; }
  };
  tick();
});
