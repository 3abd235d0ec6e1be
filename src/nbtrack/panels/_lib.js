// Carries plotly.js once per kernel; starts evaluating it as soon as the model
// exists (before any plot view asks), sharing the promise with _plot.js.
const CACHE = "__nbtrack_plotly__";

export function evaluatePlotly(source) {
  const started = performance.now();
  const previous = globalThis.Plotly;
  const mod = { exports: {} };
  // CommonJS-style, so neither RequireJS (classic notebook, nbconvert) nor
  // another plotly already on the page is disturbed.
  new Function("module", "exports", "define", source)(mod, mod.exports, undefined);
  const Plotly = mod.exports && mod.exports.react ? mod.exports : globalThis.Plotly;
  if (previous) globalThis.Plotly = previous;
  globalThis.__nbtrack_plotly_ms = performance.now() - started; // read by the browser test
  return Plotly;
}

function initialize({ model }) {
  const cache = (globalThis[CACHE] ??= {});
  const version = model.get("version") || "?";
  if (!cache[version]) {
    // not awaited: anywidget gives initialize 2 s, evaluating takes about that
    cache[version] = new Promise((resolve) => setTimeout(resolve, 0)).then(() =>
      evaluatePlotly(model.get("source")),
    );
  }
}

function render({ el }) {
  el.style.display = "none";
}

export default { initialize, render };
