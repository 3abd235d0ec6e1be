// One plotly figure of an nbtrack panel. plotly.js itself is NOT in this
// widget's state: it lives once in a shared library widget (`_lib`) and is
// evaluated once per page, so five plots cost one parse, not five.
const CACHE = "__nbtrack_plotly__";

function decode(obj) {
  if (Array.isArray(obj)) return obj.map(decode);
  if (obj && typeof obj === "object") {
    const keys = Object.keys(obj);
    if (keys.length === 2 && typeof obj.bdata === "string" && typeof obj.dtype === "string") {
      const bin = atob(obj.bdata);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return obj.dtype === "f4" ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
    }
    const out = {};
    for (const k of keys) out[k] = decode(obj[k]);
    return out;
  }
  return obj;
}

function evaluatePlotly(source) {
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

async function getPlotly(model) {
  const cache = (globalThis[CACHE] ??= {});
  const version = model.get("plotly_version") || "?";
  if (cache[version]) return cache[version];
  let lib = model.get("_lib");
  if (typeof lib === "string") {
    lib = await model.widget_manager.get_model(lib.replace(/^IPY_MODEL_/, ""));
  }
  // usually the library widget's initialize has started this already
  cache[version] ??= Promise.resolve().then(() => evaluatePlotly(lib.get("source")));
  return cache[version];
}

function parcoordsSelection(gd) {
  const trace = gd.data && gd.data[0];
  const ids = (gd.layout.meta && gd.layout.meta.run_ids) || [];
  if (!trace || trace.type !== "parcoords") return null;
  const active = (trace.dimensions || []).filter((d) => d.constraintrange && d.constraintrange.length);
  if (!active.length) return [];
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    let keep = true;
    for (const d of active) {
      const v = d.values[i];
      const cr = d.constraintrange;
      const ranges = Array.isArray(cr[0]) ? cr : [cr];
      if (!ranges.some((r) => v >= r[0] && v <= r[1])) { keep = false; break; }
    }
    if (keep) out.push(ids[i]);
  }
  return out;
}

async function render({ model, el }) {
  const div = document.createElement("div");
  div.className = "nbtrack-plot";
  div.style.width = "100%";
  div.style.minHeight = "120px";
  const note = document.createElement("div");
  note.textContent = "Loading plotly.js…";
  note.style.cssText = "color:#888;font:12px system-ui,sans-serif;padding:8px";
  el.appendChild(note);
  el.appendChild(div);
  const Plotly = await getPlotly(model);
  note.remove();
  let pending = true;
  let drawn = false;
  const select = (ids) => {
    model.set("selected", ids);
    model.save_changes();
  };
  const draw = () => {
    if (div.clientWidth === 0) { pending = true; return; } // hidden tab: draw when shown
    pending = false;
    const fig = decode(model.get("figure") || {});
    const layout = Object.assign({}, fig.layout || {}, { autosize: true });
    Plotly.react(div, fig.data || [], layout, {
      responsive: true, displaylogo: false, scrollZoom: false,
    });
    div.dataset.traces = String((fig.data || []).length);
    if (!drawn) {
      drawn = true;
      let timer = null;
      div.on("plotly_restyle", () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const ids = parcoordsSelection(div);
          if (ids !== null) select(ids);
        }, 150);
      });
      div.on("plotly_click", (ev) => {
        const id = ev && ev.points && ev.points[0] && ev.points[0].customdata;
        if (typeof id !== "string") return;
        const now = new Set(model.get("selected") || []);
        if (now.has(id)) now.delete(id); else now.add(id);
        select([...now]);
      });
      div.on("plotly_selected", (ev) => {
        if (!ev || !ev.points) return;
        select([...new Set(ev.points.map((p) => p.customdata).filter((x) => typeof x === "string"))]);
      });
      div.on("plotly_deselect", () => select([]));
    }
  };
  const observer = new ResizeObserver(() => {
    if (div.clientWidth === 0) return;
    if (pending) draw();
    else if (drawn) Plotly.Plots.resize(div);
  });
  observer.observe(div);
  model.on("change:figure", draw);
  draw();
  return () => {
    observer.disconnect();
    try { Plotly.purge(div); } catch (e) { /* already gone */ }
  };
}

export default { render };
