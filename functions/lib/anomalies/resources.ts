/**
 * A model or an MCP server never seen before for a team (team_resources_daily): used on day D and
 * not in the `newResources.lookbackDays` (90) days before, where "used on a day" means at least
 * `minUses` (3) uses that day (a single stray call is not adoption; sql/detectors/new_resources.sql
 * applies it to D and to the days before alike). Not for 'unattributed', which is no team (whoever
 * lacks attribution that day), so it has no history of its own. Only for a team with history: it must
 * have used Claude Code on at least `minHistoryDays` (14) of those days, so a new team, or a lake
 * that just started, is not a flood of "new" models. One anomaly per team, day and kind (model or
 * MCP server), naming every new one. Critical when the new model is outside
 * `compliance.approvedModels` or the new server outside a configured `compliance.mcpAllowlist`.
 */
import type { Config } from '../config/schema';
import { makeAnomaly, type Anomaly } from './anomaly';

/** The team of records no directory row or attribute places (as the rollups name it). */
export const UNATTRIBUTED = 'unattributed';

export interface NewResourceRow {
  dt: string;
  team: string;
  resourceType: 'model' | 'mcp_server';
  resource: string;
  uses: number;
  users: number;
  /** Days the team used anything in the lookback window before `dt`. */
  historyDays: number;
}

/** A config glob (`*` = any run of characters) as a RegExp, as the compliance seed turns it into LIKE. */
export function globMatches(glob: string, value: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

export function detectNewResources(rows: readonly NewResourceRow[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const n = a.newResources;
  const groups = new Map<string, NewResourceRow[]>();
  for (const r of rows) {
    if (r.historyDays < n.minHistoryDays || r.team === UNATTRIBUTED) continue;
    const key = `${r.dt}\u0001${r.team}\u0001${r.resourceType}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: Anomaly[] = [];
  for (const group of groups.values()) {
    const { dt, team, resourceType, historyDays } = group[0]!;
    const detector = resourceType === 'model' ? 'new_model' : 'new_mcp_server';
    if (a.disabled.includes(detector)) continue;
    group.sort((x, y) => y.uses - x.uses || x.resource.localeCompare(y.resource));
    const outside = group.filter((r) =>
      resourceType === 'model'
        ? !config.compliance.approvedModels.some((g) => globMatches(g, r.resource))
        : config.compliance.mcpAllowlist.length > 0 && !config.compliance.mcpAllowlist.some((g) => globMatches(g, r.resource)),
    );
    const noun = resourceType === 'model' ? 'model' : 'MCP server';
    const article = resourceType === 'model' ? 'a' : 'an';
    const list = group.map(
      (r) =>
        `${r.resource} (${r.uses.toLocaleString('en-US')} ${resourceType === 'model' ? 'records' : 'calls'}, ${r.users} developer${r.users === 1 ? '' : 's'}${outside.includes(r) ? (resourceType === 'model' ? ', not approved' : ', not on the allowlist') : ''})`,
    );
    const uses = group.reduce((s, r) => s + r.uses, 0);
    out.push(
      makeAnomaly({
        dt,
        detector,
        entityType: 'team',
        entity: team,
        observed: uses,
        baseline: 0,
        score: group.length,
        severity: outside.length ? 'critical' : 'warning',
        message: `Team ${team} used ${group.length === 1 ? `${article} ${noun}` : `${group.length} ${noun}s`} on ${dt} never seen for it in the previous ${n.lookbackDays} days: ${list.join('; ')}.`,
        details: {
          resources: group.map((r) => ({ resource: r.resource, uses: r.uses, users: r.users, flagged: outside.includes(r) })),
          historyDays,
          lookbackDays: n.lookbackDays,
        },
      }),
    );
  }
  return out;
}
