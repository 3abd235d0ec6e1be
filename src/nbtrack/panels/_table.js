// The runs table. Sorting and paging happen in Python (10,000 runs never
// reach the browser); all cell text goes in through textContent, so run
// names and params are never parsed as HTML.
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  const root = h("div", "nbt-table");
  el.appendChild(root);
  const setSelected = (ids) => { model.set("selected", ids); model.save_changes(); };
  const draw = () => {
    const cols = model.get("columns") || [];
    const rows = model.get("rows") || [];
    const ids = model.get("row_ids") || [];
    const selected = new Set(model.get("selected") || []);
    const best = model.get("best");
    const sortBy = model.get("sort_by");
    const asc = model.get("ascending");
    const page = model.get("page");
    const pages = model.get("pages");
    root.replaceChildren();
    const bar = h("div", "nbt-bar");
    bar.appendChild(h("span", "nbt-count", `${model.get("total")} runs · ${selected.size} selected`));
    const clear = h("button", "nbt-btn", "Clear selection");
    clear.disabled = selected.size === 0;
    clear.onclick = () => setSelected([]);
    const pick = h("button", "nbt-btn", "Select page");
    pick.onclick = () => setSelected([...new Set([...selected, ...ids])]);
    const prev = h("button", "nbt-btn", "‹");
    prev.disabled = page <= 0;
    prev.onclick = () => { model.set("page", page - 1); model.save_changes(); };
    const next = h("button", "nbt-btn", "›");
    next.disabled = page >= pages - 1;
    next.onclick = () => { model.set("page", page + 1); model.save_changes(); };
    bar.append(clear, pick, h("span", "nbt-spacer"), prev, h("span", "nbt-page", `page ${page + 1} / ${pages}`), next);
    root.appendChild(bar);
    const wrap = h("div", "nbt-wrap");
    const table = h("table", "nbt");
    const head = h("tr");
    head.appendChild(h("th", "nbt-check", ""));
    cols.forEach((c) => {
      const arrow = c.key === sortBy ? (asc ? " ▲" : " ▼") : "";
      const th = h("th", `nbt-${c.group}${c.numeric ? " nbt-num" : ""}`, c.label + arrow);
      th.title = `${c.key} — click to sort`;
      th.onclick = () => {
        model.set("ascending", c.key === sortBy ? !asc : c.group !== "metric" || !c.numeric ? true : model.get("metric_ascending"));
        model.set("sort_by", c.key);
        model.set("page", 0);
        model.save_changes();
      };
      head.appendChild(th);
    });
    const thead = h("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    const body = h("tbody");
    rows.forEach((row, i) => {
      const id = ids[i];
      const tr = h("tr", (selected.has(id) ? "nbt-sel " : "") + (id === best ? "nbt-best" : ""));
      tr.dataset.runId = id;
      tr.appendChild(h("td", "nbt-check", (selected.has(id) ? "☑" : "☐") + (id === best ? " ★" : "")));
      row.forEach((text, j) => {
        const td = h("td", cols[j] && cols[j].numeric ? "nbt-num" : "", text);
        if (text.length > 40) td.title = text;
        tr.appendChild(td);
      });
      tr.onclick = () => {
        const now = new Set(model.get("selected") || []);
        if (now.has(id)) now.delete(id); else now.add(id);
        setSelected([...now]);
      };
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    root.appendChild(wrap);
    if (!rows.length) root.appendChild(h("div", "nbt-empty", "No runs match yet."));
  };
  const names = ["columns", "rows", "row_ids", "selected", "best", "sort_by", "ascending", "page", "pages", "total"];
  names.forEach((n) => model.on(`change:${n}`, draw));
  draw();
}

export default { render };
