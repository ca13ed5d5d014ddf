/**
 * The simulated organisation: departments, teams, cost centers and developers, with the
 * effective-dated org directory that finance and the rollups attribute cost by.
 */
import { ORG_DIRECTORY } from '../../../schemas/org-directory';
import { addDays } from '../util/dates';
import { Random } from './random';

/** One CSV line of the org directory (schemas/org-directory.ts); '' for an open valid_to. */
type OrgDirectoryLine = Record<(typeof ORG_DIRECTORY)['columns'][number]['name'], string>;

export interface Team {
  name: string;
  department: string;
  costCenter: string;
  repos: string[];
  /** Some teams are in the EU and some of their traffic uses eu. inference profiles. */
  region: 'us' | 'eu';
}

export interface Developer {
  index: number;
  email: string | null; // null: API-key users export no email
  userId: string;
  accountUuid: string;
  team: Team;
  /** A mid-period move: from `movesOnDay` on, the developer works in `movesTo`. */
  movesTo: Team | null;
  movesOnDay: string | null;
  /** Not in the org directory and no resource attributes: shows up as `unattributed`. */
  unattributed: boolean;
  /** Sets department/team.id/cost_center through OTEL_RESOURCE_ATTRIBUTES. */
  sendsResourceAttributes: boolean;
  utcOffsetHours: number;
  /** Relative intensity; lognormal across developers. */
  intensity: number;
  /** Probability of working on a weekday. */
  weekdayActivity: number;
  temporality: 'delta' | 'cumulative';
  terminal: string;
  os: string;
  arch: string;
  appVersion: string;
  /** Share of this developer's requests sent to each model tier. */
  opusShare: number;
}

const DEPARTMENTS = ['Engineering', 'Platform', 'Data', 'Mobile', 'Security', 'Research'];
const TEAM_WORDS = [
  'payments',
  'search',
  'identity',
  'checkout',
  'infra',
  'ml-platform',
  'growth',
  'billing',
  'observability',
  'ios',
  'android',
  'api',
  'web',
  'data-eng',
  'risk',
  'ledger',
  'catalog',
  'notifications',
  'devex',
  'appsec',
];
const FIRST = [
  'alex',
  'sam',
  'maria',
  'li',
  'priya',
  'jon',
  'fatima',
  'diego',
  'yuki',
  'olga',
  'kwame',
  'emma',
  'noah',
  'aisha',
  'ivan',
  'chen',
  'sofia',
  'omar',
  'lea',
  'ravi',
  'hana',
  'tom',
  'nia',
  'lucas',
];
const LAST = [
  'smith',
  'garcia',
  'kim',
  'patel',
  'nguyen',
  'mueller',
  'rossi',
  'tanaka',
  'silva',
  'okafor',
  'cohen',
  'novak',
  'haddad',
  'larsen',
  'dubois',
  'singh',
  'wang',
  'lopez',
  'ito',
  'berg',
];
const OFFSETS: readonly (readonly [number, number])[] = [
  [-8, 30],
  [-5, 30],
  [0, 10],
  [1, 15],
  [5.5, 10],
  [9, 5],
];
const TERMINALS: readonly (readonly [string, number])[] = [
  ['vscode', 40],
  ['iTerm.app', 25],
  ['cursor', 15],
  ['Apple_Terminal', 8],
  ['tmux', 7],
  ['WarpTerminal', 5],
];
const APP_VERSIONS: readonly (readonly [string, number])[] = [
  ['2.0.28', 35],
  ['2.0.31', 40],
  ['2.0.36', 25],
];

export const ORGANIZATION_ID = 'f3c1a1de-7d2b-4c39-9a57-0d1a6c9b2e41';

function makeTeams(rng: Random, count: number): Team[] {
  const teams: Team[] = [];
  for (let i = 0; i < count; i++) {
    const word = TEAM_WORDS[i % TEAM_WORDS.length]!;
    const name = i < TEAM_WORDS.length ? word : `${word}-${Math.floor(i / TEAM_WORDS.length) + 1}`;
    const repos = Array.from({ length: rng.int(1, 4) }, (_, k) => `acme/${name}${k === 0 ? '' : '-' + ['service', 'web', 'tools', 'lib'][k - 1]}`);
    teams.push({
      name,
      department: DEPARTMENTS[i % DEPARTMENTS.length]!,
      costCenter: `CC-${1000 + i * 10}`,
      repos,
      region: i % 7 === 3 ? 'eu' : 'us',
    });
  }
  return teams;
}

export interface Population {
  teams: Team[];
  developers: Developer[];
  directory: OrgDirectoryLine[];
}

/** `periodStart`/`periodEnd` are YYYY-MM-DD (inclusive) and place mid-period team moves. */
export function makePopulation(seed: string | number, users: number, periodStart: string, periodDays: number): Population {
  const rng = new Random(seed, 'population');
  const teams = makeTeams(rng, Math.max(3, Math.min(200, Math.round(users / 25))));
  const developers: Developer[] = [];
  const directory: OrgDirectoryLine[] = [];
  const usedEmails = new Set<string>();
  for (let i = 0; i < users; i++) {
    const r = new Random(seed, 'developer', i);
    let base = `${r.pick(FIRST)}.${r.pick(LAST)}`;
    if (usedEmails.has(base)) base = `${base}${i}`;
    usedEmails.add(base);
    const team = teams[Math.floor(r.next() ** 1.3 * teams.length)]!; // some teams are bigger
    const moves = periodDays >= 7 && r.chance(0.04);
    const movesTo = moves ? teams[(teams.indexOf(team) + 1 + r.int(0, teams.length - 2)) % teams.length]! : null;
    const moveOffset = moves ? r.int(Math.floor(periodDays / 3), Math.max(Math.floor(periodDays / 3), periodDays - 2)) : 0;
    const movesOnDay = moves ? addDays(periodStart, moveOffset) : null;
    const dev: Developer = {
      index: i,
      email: r.chance(0.06) ? null : `${base}@acme.example`,
      userId: r.hex(64),
      accountUuid: r.uuid(),
      team,
      movesTo: movesTo === team ? null : movesTo,
      movesOnDay,
      unattributed: r.chance(0.05),
      sendsResourceAttributes: r.chance(0.6),
      utcOffsetHours: team.region === 'eu' ? r.pick([0, 1]) : r.weighted(OFFSETS),
      intensity: r.lognormal(1, 0.6),
      weekdayActivity: 0.55 + 0.4 * r.next(),
      temporality: r.chance(0.12) ? 'cumulative' : 'delta',
      terminal: r.weighted(TERMINALS),
      os: r.weighted([
        ['darwin', 70],
        ['linux', 25],
        ['windows', 5],
      ] as const),
      arch: r.weighted([
        ['arm64', 65],
        ['x64', 35],
      ] as const),
      appVersion: r.weighted(APP_VERSIONS),
      opusShare: r.chance(0.2) ? 0.3 : 0.05,
    };
    developers.push(dev);
    if (!dev.unattributed) {
      const key = { user_email: dev.email ?? '', user_id: dev.userId };
      if (dev.movesTo && dev.movesOnDay) {
        directory.push({ ...key, ...teamCols(team), valid_from: '2020-01-01', valid_to: dev.movesOnDay });
        directory.push({ ...key, ...teamCols(dev.movesTo), valid_from: dev.movesOnDay, valid_to: '' });
      } else {
        directory.push({ ...key, ...teamCols(team), valid_from: '2020-01-01', valid_to: '' });
      }
    }
  }
  return { teams, developers, directory };
}

const teamCols = (t: Team) => ({ team: t.name, department: t.department, cost_center: t.costCenter });

/** The team a developer works in on a given day. */
export function teamOn(dev: Developer, day: string): Team {
  return dev.movesTo && dev.movesOnDay && day >= dev.movesOnDay ? dev.movesTo : dev.team;
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function orgDirectoryCsv(rows: readonly OrgDirectoryLine[]): string {
  const cols = ORG_DIRECTORY.columns.map((c) => c.name);
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}
