/**
 * What a query reads that the lake's input does not carry (issue 23): `input_coverage_daily`
 * (sql/models/V050__input_coverage_daily.sql) lists per day the relations, columns and controls
 * with no data from that day's input (a lake fed by the AWS guidance's token-only `metrics` rows
 * has no events, reported cost, productivity metrics or spans). `cclake query` prints these notes
 * on stderr, so an empty API health table or a zero in `user_daily.requests` is not read as measured.
 */
import type { QueryEngine } from '../engine/port';
import { NO_DATA_FROM_INPUT } from '../exports/evidence-report';
import { referencedNames } from './references';

/** One note per relation the SQL reads that has days without data from the input, in name order. */
export async function inputCoverageNotes(engine: QueryEngine, sql: string): Promise<string[]> {
  const names = referencedNames(sql).names;
  if (names.has('input_coverage_daily')) return [];
  let rows: Record<string, unknown>[];
  try {
    rows = (await engine.query(`SELECT CAST(dt AS VARCHAR) AS dt, unavailable FROM input_coverage_daily WHERE unavailable IS NOT NULL ORDER BY dt`)).rows;
  } catch {
    return []; // a lake not rolled up yet has no coverage to report
  }
  // relation -> (what of it: '' for the whole relation, else a column or control) -> days
  const byRelation = new Map<string, Map<string, string[]>>();
  for (const r of rows) {
    for (const item of String(r.unavailable).split(', ')) {
      const [relation, part = ''] = item.split('.');
      if (!relation || !names.has(relation)) continue;
      const parts = byRelation.get(relation) ?? new Map<string, string[]>();
      parts.set(part, [...(parts.get(part) ?? []), String(r.dt)]);
      byRelation.set(relation, parts);
    }
  }
  const notes: string[] = [];
  for (const relation of [...byRelation.keys()].sort()) {
    // The parts missing on the same days share a note.
    const sameDays = new Map<string, string[]>();
    for (const [part, days] of byRelation.get(relation)!) sameDays.set(days.join(','), [...(sameDays.get(days.join(',')) ?? []), part]);
    for (const [key, parts] of sameDays) {
      const days = key.split(',');
      const span = days.length === 1 ? days[0] : `${days[0]}..${days.at(-1)}`;
      const what = parts.includes('')
        ? relation
        : relation === 'compliance_daily'
          ? `compliance_daily controls ${parts.join(', ')} (status no_data)`
          : parts.map((p) => `${relation}.${p}`).join(', ');
      notes.push(`note: ${what}: ${NO_DATA_FROM_INPUT} on ${days.length} day(s) (${span}); input_coverage_daily lists what each day's input lacks`);
    }
  }
  return notes;
}
