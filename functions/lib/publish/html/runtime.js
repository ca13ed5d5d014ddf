// The local dashboard's runtime: filtering, re-aggregation, number formatting, tables and the page's
// controls. Plain JavaScript with no imports, because the same file runs in two places: Node imports
// it to render the page as it first opens (SVG charts and tables already in the HTML, readable without
// JavaScript and what the PDF prints), and the page inlines it as a module script to re-render when a
// filter changes, offline (vega, the only other script, is inlined beside it).
//
// A visual model (built by functions/lib/publish/html/model.ts) carries its rows already grouped by
// the visual's dimensions plus the filter columns (team, dt or month), each measure as partial
// aggregates [sum, count, min, max], so any filter can be applied and the rows re-aggregated exactly
// (SUM, AVERAGE, MIN, MAX and COUNT compose from those four).

/** The value of an aggregate from its partials [sum, count, min, max]. */
export function finish(agg, p) {
  if (!p || p[1] === 0) return agg === 'COUNT' ? 0 : null;
  switch (agg) {
    case 'SUM':
      return p[0];
    case 'COUNT':
      return p[1];
    case 'AVERAGE':
      return p[0] / p[1];
    case 'MIN':
      return p[2];
    case 'MAX':
      return p[3];
    default:
      throw new Error(`unknown aggregation ${agg}`);
  }
}

/** Adds partials b into a (in place). */
export function merge(a, b) {
  if (!b || b[1] === 0) return a;
  if (a[1] === 0) {
    a[0] = b[0];
    a[1] = b[1];
    a[2] = b[2];
    a[3] = b[3];
    return a;
  }
  a[0] += b[0];
  a[1] += b[1];
  a[2] = Math.min(a[2], b[2]);
  a[3] = Math.max(a[3], b[3]);
  return a;
}

/** Whether a row passes the page filter (team; date range on dt, or whole months on month). */
export function keep(model, row, filter) {
  if (filter.team && model.teamKey && row[model.teamKey] !== filter.team) return false;
  if (model.dateKey === 'dt') {
    if (filter.from && row.dt < filter.from) return false;
    if (filter.to && row.dt > filter.to) return false;
  } else if (model.dateKey === 'month') {
    if (filter.from && row.month < filter.from.slice(0, 7)) return false;
    if (filter.to && row.month > filter.to.slice(0, 7)) return false;
  }
  return true;
}

/** Aggregated rows: one per distinct value of the visual's dimensions (and colour), measures finished. */
export function aggregate(model, filter) {
  const keys = [...model.dims.map((d) => d.key), ...(model.color ? [model.color.key] : [])];
  const groups = new Map();
  for (const row of model.rows) {
    if (!keep(model, row, filter)) continue;
    const id = JSON.stringify(keys.map((k) => row[k]));
    let g = groups.get(id);
    if (!g) {
      g = { row: Object.fromEntries(keys.map((k) => [k, row[k]])), parts: model.measures.map(() => [0, 0, 0, 0]) };
      groups.set(id, g);
    }
    model.measures.forEach((m, i) => merge(g.parts[i], row[m.key]));
  }
  return [...groups.values()].map((g) => {
    const out = g.row;
    model.measures.forEach((m, i) => {
      out[m.key] = finish(m.agg, g.parts[i]);
    });
    return out;
  });
}

/** A number as the definition formats it (QuickSight's number, currency and percentage displays). */
export function formatNumber(value, fmt) {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  if (typeof value !== 'number') return String(value);
  const f = fmt || { kind: 'number', decimals: Number.isInteger(value) ? 0 : 2 };
  const decimals = f.decimals === undefined || f.decimals === null ? (Number.isInteger(value) ? 0 : 2) : f.decimals;
  const n = f.kind === 'percent' ? value * 100 : value;
  const text = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(n);
  const signed = text.startsWith('-') ? ['-', text.slice(1)] : ['', text];
  const body = f.kind === 'currency' ? `${signed[0]}$${signed[1]}` : text;
  return `${f.prefix || ''}${body}${f.kind === 'percent' ? '%' : ''}${f.suffix || ''}`;
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return a < b ? -1 : 1;
}

function sortAndLimit(model, rows) {
  const sort = model.sort || [];
  if (sort.length) {
    rows.sort((x, y) => {
      for (const s of sort) {
        const c = compare(x[s.key], y[s.key]);
        if (c !== 0) return s.dir === 'DESC' ? -c : c;
      }
      return 0;
    });
  }
  return model.limit ? rows.slice(0, model.limit) : rows;
}

/** What a chart or KPI draws: long rows {x, series, value} (line, bar) or {text, when} (KPI). */
export function chartData(model, filter) {
  const rows = aggregate(model, filter);
  if (model.kind === 'kpi') {
    const m = model.measures[0];
    if (model.dims.length) {
      const k = model.dims[0].key;
      const latest = rows.filter((r) => r[m.key] !== null).sort((a, b) => compare(b[k], a[k]))[0];
      return latest ? [{ value: latest[m.key], text: formatNumber(latest[m.key], m.fmt), when: `on ${latest[k]}` }] : [];
    }
    const v = rows.length ? rows[0][m.key] : null;
    if (v === null || v === undefined) return [];
    return [{ value: v, text: formatNumber(v, m.fmt), when: filter.from || filter.to ? `${filter.from || '…'} to ${filter.to || '…'}` : 'all data' }];
  }
  const x = model.dims[0].key;
  const out = [];
  for (const r of rows) {
    for (const m of model.measures) {
      if (r[m.key] === null) continue;
      out.push({ x: r[x], series: model.color ? r[model.color.key] : m.title, value: r[m.key] });
    }
  }
  out.sort((a, b) => compare(a.x, b.x) || compare(a.series, b.series));
  return out;
}

/** A table's columns and rows as values (sorted and limited as the definition says). */
export function tableValues(model, filter) {
  if (model.raw.length) {
    const kept = model.rows.filter((r) => keep(model, r, filter));
    return {
      columns: model.raw,
      rows: sortAndLimit(model, kept).map((r) => model.raw.map((c) => (r[c.key] === undefined ? null : r[c.key]))),
      total: kept.length,
    };
  }
  const all = aggregate(model, filter);
  const columns = [
    ...model.dims.map((d) => ({ key: d.key, title: d.title, numeric: false })),
    ...model.measures.map((m) => ({ key: m.key, title: m.title, numeric: true, fmt: m.fmt })),
  ];
  return { columns, rows: sortAndLimit(model, all).map((r) => columns.map((c) => r[c.key])), total: all.length };
}

/** A table's header and formatted cells. */
export function tableData(model, filter) {
  const t = tableValues(model, filter);
  return {
    columns: t.columns.map((c) => ({ title: c.title, numeric: c.numeric })),
    rows: t.rows.map((r) => r.map((v, i) => (t.columns[i].numeric ? formatNumber(v, t.columns[i].fmt) : v === null || v === undefined ? '' : String(v)))),
    total: t.total,
  };
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** A table visual as HTML. */
export function tableHtml(model, filter) {
  const t = tableData(model, filter);
  if (!t.rows.length) return '<p class="empty">No rows for the selected filters.</p>';
  const head = t.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.title)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((v, i) => `<td${t.columns[i].numeric ? ' class="num"' : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  const more = t.total > t.rows.length ? `<p class="note">Showing ${t.rows.length} of ${t.total} rows.</p>` : '';
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

/** How the page filter applies to a visual, in words (shown under its title). */
export function filterNote(model, filter) {
  const notes = [];
  if (filter.team && !model.teamKey) notes.push(model.fixedTeam ? 'whole organization (not split by team)' : 'not split by team');
  if (model.dateKey === 'month' && (filter.from || filter.to)) notes.push('whole months overlapping the dates');
  if (!model.dateKey && (filter.from || filter.to)) notes.push('not filtered by date');
  return notes.join('; ');
}

/** Renders a chart or KPI to an SVG string with vega (the same in Node and in the page). */
export async function chartSvg(vega, model, filter) {
  const data = chartData(model, filter);
  if (!data.length) return '<p class="empty">No data for the selected filters.</p>';
  const view = new vega.View(vega.parse(model.spec), { renderer: 'none' });
  try {
    view.data('rows', data);
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Wires the page: reads the models, re-renders every visual when a filter changes. */
export async function boot(win) {
  const doc = win.document;
  const page = JSON.parse(doc.getElementById('cclake-dashboard').textContent);
  const vega = win.vega;
  const team = doc.getElementById('filter-team');
  const from = doc.getElementById('filter-from');
  const to = doc.getElementById('filter-to');
  const status = doc.getElementById('filter-status');
  const current = () => ({ team: team.value, from: from.value, to: to.value });
  let pending = Promise.resolve();

  async function render() {
    doc.body.dataset.ready = 'false';
    const filter = current();
    if (filter.from && filter.to && filter.from > filter.to) {
      status.textContent = 'The start date is after the end date.';
      doc.body.dataset.ready = 'true';
      return;
    }
    for (const model of page.visuals) {
      const fig = doc.querySelector(`[data-visual-id="${model.id}"]`);
      if (!fig || model.missing) continue;
      const body = fig.querySelector('.visual-body');
      body.innerHTML = model.kind === 'table' ? tableHtml(model, filter) : await chartSvg(vega, model, filter);
      fig.querySelector('.filter-note').textContent = filterNote(model, filter);
    }
    status.textContent = `${filter.team || 'All teams'}, ${filter.from || 'first day'} to ${filter.to || 'last day'}`;
    for (const el of doc.querySelectorAll('.print-filter')) el.textContent = status.textContent;
    doc.body.dataset.ready = 'true';
  }
  const rerender = () => {
    pending = pending.then(render, render);
    return pending;
  };
  team.addEventListener('change', rerender);
  from.addEventListener('change', rerender);
  to.addEventListener('change', rerender);
  for (const b of doc.querySelectorAll('[data-range]')) {
    b.addEventListener('click', () => {
      const days = Number(b.dataset.range);
      to.value = page.lastDate || '';
      if (days > 0 && page.lastDate) {
        const d = new Date(`${page.lastDate}T00:00:00Z`);
        d.setUTCDate(d.getUTCDate() - (days - 1));
        from.value = d.toISOString().slice(0, 10);
      } else from.value = page.firstDate || '';
      rerender();
    });
  }
  win.cclakeRender = rerender;
  doc.body.dataset.ready = 'true';
}
