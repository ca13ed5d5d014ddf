/**
 * The evidence report for people: a self-contained HTML page and a PDF (pdf-lib, pure JavaScript, so
 * it renders inside Lambda without a browser). Both are pure functions of the report: the PDF's
 * creation and modification dates are the report's generated_at, so the same report always gives
 * the same bytes.
 */
import { PDFDocument, StandardFonts, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { NO_DATA_FROM_INPUT, type ControlResult, type EvidenceReport } from './evidence-report';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function exampleText(r: ControlResult): string {
  if (!r.examples.length) return '';
  return r.examples.map((e) => (e.hour !== undefined ? `${e.dt} ${e.hour}:00 UTC` : `${e.record_id} (${e.event_time})`)).join('\n');
}

/** Days of a measured control that had no evidence in the input (a cut-over inside the period). */
const noDataNote = (r: ControlResult) =>
  r.days_no_data && r.status !== NO_DATA_FROM_INPUT ? `${r.days_no_data} day(s) ${NO_DATA_FROM_INPUT}: ${r.no_data_days.join(', ')}` : '';

const consistency = (r: ControlResult) => (r.consistent === null ? 'n/a' : r.consistent ? 'yes' : 'NO');

export function renderEvidenceHtml(report: EvidenceReport): string {
  const p = report.period;
  const rows = report.controls
    .map(
      (r) =>
        `<tr class="${r.status.startsWith('no data') ? 'no-data' : r.status}"><td>${esc(r.control_id)}<div class="t">${esc(r.title)}</div></td><td>${esc(r.team)}</td><td class="s">${esc(r.status)}${noDataNote(r) ? `<div class="t">${esc(noDataNote(r))}</div>` : ''}</td>` +
        `<td class="n">${r.days}</td><td class="n">${r.days_failed}${r.failed_days.length ? `<div class="t">${esc(r.failed_days.join(', '))}</div>` : ''}</td>` +
        `<td class="n">${r.evaluated}</td><td class="n">${r.violations}</td><td class="n">${r.findings}</td><td>${consistency(r)}</td>` +
        `<td><code>${esc(exampleText(r)).replace(/\n/g, '<br>')}</code></td></tr>`,
    )
    .join('\n');
  const f = report.freshness;
  const fresh: [string, unknown][] = [
    ['Curated records in the period', f.period_records],
    ['Days of the period with records', `${f.period_days_with_records} of ${p.days}`],
    ['Oldest / newest event in the period', `${f.period_oldest_event_time ?? '-'} / ${f.period_newest_event_time ?? '-'}`],
    ['Newest event in the lake (from the period start)', `${f.lake_newest_event_time ?? '-'} (dt ${f.lake_newest_dt ?? '-'})`],
    ['Newest compaction commit', f.newest_compaction ?? '-'],
    ['Newest compliance_daily rollup', f.newest_compliance_rollup ?? '-'],
    ['Days without any record', f.days_without_data.join(', ') || 'none'],
    [
      'Days whose rollup is older than their data',
      f.rollup_behind.map((b) => `${b.dt} (curated generation ${b.curated_generation}, rollup from ${b.rollup_source_generation ?? 'none'})`).join(', ') ||
        'none',
    ],
    ...Object.entries(report.row_counts).map(([k, v]) => [`Row count: ${k.replace(/_/g, ' ')}`, v] as [string, unknown]),
  ];
  const policy = Object.entries(report.policy)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(Array.isArray(v) ? v.join(', ') || '(none)' : v)}</td></tr>`)
    .join('\n');
  const sql = report.sql
    .map(
      (q) =>
        `<section><h3>${esc(q.kind)} ${esc(q.name)}</h3><p><code>${esc(q.file)}</code> sha256 <code>${esc(q.sha256)}</code>` +
        (q.kind === 'query' ? `<br>engine ${esc(q.engine)}, query id <code>${esc(q.query_id ?? 'none (local engine)')}</code>, ${q.rows} row(s)` : '') +
        (q.kind === 'model' ? `<br>version ${q.version}, computed ${q.days?.length ?? 0} day(s) of the period` : '') +
        `</p><pre>${esc(q.text)}</pre></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cclake compliance evidence ${esc(p.from)} to ${esc(p.to)} (report ${report.seq})</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
td.n { text-align: right; }
tr.fail td.s { background: #f8d0d0; font-weight: bold; }
tr.pass td.s { background: #d6f0d6; }
tr.no-data td.s { background: #eee; }
.t { font-size: 12px; color: #666; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
code { font-size: 12px; }
</style>
</head>
<body>
<h1>Compliance evidence: ${esc(p.from)} to ${esc(p.to)}</h1>
<p>Report ${report.seq}, ${p.days} day(s), days in time zone ${esc(p.time_zone)}. Generated ${esc(report.generated_at)} by cclake on ${esc(report.engine)}.
Examples are record ids and times only; no content is ever shown.</p>
<h2>Summary</h2>
<p>${report.summary.results} results (control x team, the organization as team ALL): <b>${report.summary.passed} pass</b>, <b>${report.summary.failed} fail</b>, ${report.summary.no_data} without data${report.summary.inconsistent ? `, <b>${report.summary.inconsistent} whose findings disagree with the daily counts</b>` : ''}.</p>
${report.summary.failing.length ? `<p>Failing: ${report.summary.failing.map((x) => `${esc(x.control_id)} (${esc(x.team)})`).join(', ')}</p>` : '<p>No control failed.</p>'}
<h2>Controls per team</h2>
<table>
<tr><th>Control</th><th>Team</th><th>Status</th><th>Days</th><th>Days failed</th><th>Evaluated</th><th>Violations</th><th>Findings</th><th>Findings agree</th><th>Examples</th></tr>
${rows}
</table>
<h2>Policy in force</h2>
<table>
${policy}
</table>
<h2>Data freshness and row counts</h2>
<table>
${fresh.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}
</table>
<h2>SQL behind the results</h2>
${sql}
</body>
</html>
`;
}

/** pdf-lib's standard fonts encode WinAnsi only: anything else prints as '?'. */
const pdfSafe = (s: string) => s.replace(/\t/g, '  ').replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

class PdfWriter {
  private page!: PDFPage;
  private y = 0;
  static readonly W = 595.28;
  static readonly H = 841.89;
  static readonly M = 40;

  constructor(
    private readonly doc: PDFDocument,
    readonly regular: PDFFont,
    readonly bold: PDFFont,
    readonly mono: PDFFont,
  ) {
    this.newPage();
  }

  private newPage(): void {
    this.page = this.doc.addPage([PdfWriter.W, PdfWriter.H]);
    this.y = PdfWriter.H - PdfWriter.M;
  }

  private room(height: number): void {
    if (this.y - height < PdfWriter.M) this.newPage();
  }

  /** Words wrapped to the width; long words (ids, hashes) broken where they must be. */
  wrap(text: string, font: PDFFont, size: number, width: number): string[] {
    const out: string[] = [];
    for (const para of pdfSafe(text).split('\n')) {
      let line = '';
      for (const word of para.split(/(\s+)/)) {
        const next = line + word;
        if (font.widthOfTextAtSize(next, size) <= width) {
          line = next;
          continue;
        }
        if (line.trim()) out.push(line.trimEnd());
        line = word.trimStart();
        while (font.widthOfTextAtSize(line, size) > width) {
          let cut = line.length - 1;
          while (cut > 1 && font.widthOfTextAtSize(line.slice(0, cut), size) > width) cut--;
          out.push(line.slice(0, cut));
          line = line.slice(cut);
        }
      }
      out.push(line.trimEnd());
    }
    return out;
  }

  text(text: string, opts: { font?: PDFFont; size?: number; indent?: number; gap?: number } = {}): void {
    const font = opts.font ?? this.regular;
    const size = opts.size ?? 9;
    const x = PdfWriter.M + (opts.indent ?? 0);
    for (const line of this.wrap(text, font, size, PdfWriter.W - PdfWriter.M - x)) {
      this.room(size * 1.3);
      this.y -= size * 1.3;
      this.page.drawText(line, { x, y: this.y, font, size, color: rgb(0.1, 0.1, 0.1) });
    }
    this.y -= opts.gap ?? 2;
  }

  /** A table row: cells at fixed widths, each wrapped; the row's height is its tallest cell. */
  row(cells: string[], widths: number[], opts: { font?: PDFFont; size?: number; fill?: [number, number, number] } = {}): void {
    const font = opts.font ?? this.regular;
    const size = opts.size ?? 7.5;
    const wrapped = cells.map((c, i) => this.wrap(c, font, size, widths[i]! - 4));
    const height = Math.max(...wrapped.map((w) => w.length)) * size * 1.25 + 4;
    this.room(height);
    let x = PdfWriter.M;
    if (opts.fill) this.page.drawRectangle({ x, y: this.y - height, width: widths.reduce((a, b) => a + b, 0), height, color: rgb(...opts.fill) });
    wrapped.forEach((lines, i) => {
      lines.forEach((l, j) => this.page.drawText(l, { x: x + 2, y: this.y - (j + 1) * size * 1.25, font, size }));
      x += widths[i]!;
    });
    this.page.drawLine({
      start: { x: PdfWriter.M, y: this.y - height },
      end: { x: PdfWriter.M + widths.reduce((a, b) => a + b, 0), y: this.y - height },
      thickness: 0.3,
      color: rgb(0.7, 0.7, 0.7),
    });
    this.y -= height;
  }
}

export async function renderEvidencePdf(report: EvidenceReport): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const at = new Date(report.generated_at);
  const p = report.period;
  doc.setTitle(`cclake compliance evidence ${p.from} to ${p.to} (report ${report.seq})`);
  doc.setAuthor('cclake');
  doc.setSubject('Claude Code compliance controls (CONTRACTS section 3), per team');
  doc.setCreator('cclake export evidence');
  doc.setProducer('cclake (pdf-lib)');
  doc.setCreationDate(at);
  doc.setModificationDate(at);
  const w = new PdfWriter(
    doc,
    await doc.embedFont(StandardFonts.Helvetica),
    await doc.embedFont(StandardFonts.HelveticaBold),
    await doc.embedFont(StandardFonts.Courier),
  );

  w.text(`Compliance evidence: ${p.from} to ${p.to}`, { font: w.bold, size: 16, gap: 6 });
  w.text(
    `Report ${report.seq}, ${p.days} day(s), days in time zone ${p.time_zone}. Generated ${report.generated_at} by cclake on ${report.engine}. Examples are record ids and times only; no content is ever shown.`,
    { gap: 8 },
  );
  const s = report.summary;
  w.text(
    `Summary: ${s.results} results (control x team; the organization as team ALL): ${s.passed} pass, ${s.failed} fail, ${s.no_data} without data${s.inconsistent ? `, ${s.inconsistent} whose findings disagree with the daily counts` : ''}.`,
    { font: w.bold },
  );
  w.text(s.failing.length ? `Failing: ${s.failing.map((x) => `${x.control_id} (${x.team})`).join(', ')}` : 'No control failed.', { gap: 8 });

  w.text('Controls per team', { font: w.bold, size: 12, gap: 4 });
  const widths = [105, 70, 40, 35, 65, 45, 45, 45, 65];
  w.row(['Control', 'Team', 'Status', 'Days', 'Days failed', 'Evaluated', 'Violations', 'Findings', 'Agree with counts'], widths, {
    font: w.bold,
    fill: [0.9, 0.9, 0.9],
  });
  for (const r of report.controls) {
    const fill: [number, number, number] | undefined = r.status === 'fail' ? [0.97, 0.82, 0.82] : undefined;
    w.row(
      [
        r.control_id,
        r.team,
        noDataNote(r) ? `${r.status}; ${noDataNote(r)}` : r.status,
        String(r.days),
        `${r.days_failed}${r.failed_days.length ? ` (${r.failed_days.join(', ')})` : ''}`,
        String(r.evaluated),
        String(r.violations),
        String(r.findings),
        consistency(r),
      ],
      widths,
      { fill },
    );
  }

  w.text('Examples (record ids and event times; missing hours for telemetry freshness)', { font: w.bold, size: 12, gap: 4 });
  for (const r of report.controls.filter((x) => x.examples.length)) {
    w.text(`${r.control_id} / ${r.team}: ${r.findings} finding(s), first ${r.examples.length}`, { font: w.bold, size: 8 });
    w.text(exampleText(r), { font: w.mono, size: 7, indent: 10, gap: 4 });
  }

  w.text('Policy in force', { font: w.bold, size: 12, gap: 4 });
  for (const [k, v] of Object.entries(report.policy)) w.text(`${k}: ${Array.isArray(v) ? v.join(', ') || '(none)' : String(v)}`, { size: 8 });

  w.text('Data freshness and row counts', { font: w.bold, size: 12, gap: 4 });
  for (const [k, v] of Object.entries(report.freshness))
    w.text(`${k}: ${Array.isArray(v) ? (v.length ? JSON.stringify(v) : 'none') : String(v ?? '-')}`, { size: 8 });
  for (const [k, v] of Object.entries(report.row_counts)) w.text(`${k}: ${v}`, { size: 8 });

  w.text('SQL behind the results', { font: w.bold, size: 12, gap: 4 });
  for (const q of report.sql) {
    w.text(`${q.kind} ${q.name}: ${q.file}`, { font: w.bold, size: 9 });
    w.text(`sha256 ${q.sha256}`, { font: w.mono, size: 7 });
    if (q.kind === 'query') w.text(`engine ${q.engine}, query id ${q.query_id ?? 'none (local engine)'}, ${q.rows} row(s)`, { size: 8 });
    if (q.kind === 'model') w.text(`version ${q.version}, computed ${q.days?.length ?? 0} day(s) of the period`, { size: 8 });
    w.text(q.text, { font: w.mono, size: 6.5, indent: 6, gap: 8 });
  }
  return doc.save({ useObjectStreams: false });
}
