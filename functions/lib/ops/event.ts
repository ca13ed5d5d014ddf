/**
 * A scheduled function's event, validated by a strict zod schema before anything else runs: no
 * event (or null) is `{}`; anything but an object, an unknown key, or a bad field fails with an
 * error that names the function, the key and the value given.
 *
 * Field schemas carry what the field must be as their error (`a date YYYY-MM-DD`), worded here as
 * `event.<field> must be <that>, got <value>`; rules between fields are `custom` issues on the
 * object whose message is the whole sentence (`event.to 2026-11-19 is before event.from ...`).
 */
import { z } from 'zod';
import { isIsoDate } from '../util/dates';
import { dayRangeProblem } from '../util/day-range';

/** A strict object schema: unknown keys are refused. */
export type EventSchema<E> = z.ZodType<E, Record<string, unknown>>;

/** An optional date field, YYYY-MM-DD and a real day. */
export const eventDate = (expected = 'a date YYYY-MM-DD') => z.string({ error: expected }).refine(isIsoDate, { error: expected }).optional();

const quoted = (keys: readonly string[]) => keys.map((k) => JSON.stringify(k));
const listed = (keys: readonly string[]) => {
  const q = quoted(keys);
  return q.length < 2 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q.at(-1)}`;
};

/** The object's keys as its schema declares them (for the "accepts only" message). */
const keysOf = (schema: z.ZodType): string[] => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []);

/** `{}` (the days that changed), `{ dt }` (one day) or `{ from, to }` (a range; `from` alone is that day). */
export const DAY_RANGE_EVENT = z.strictObject({ dt: eventDate(), from: eventDate(), to: eventDate() }).superRefine((range, ctx) => {
  const problem = dayRangeProblem(range, (f) => `event.${f}`);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
export const DAY_RANGE_SHAPE = 'an object such as {}, { "dt": "2026-11-20" } or { "from": "2026-11-01", "to": "2026-11-20" }';

/** The rollup function's event: a day range, or `{ "intraday": true }` (today so far; `dt` may name the day). */
export const ROLLUP_EVENT = z.strictObject({ dt: eventDate(), from: eventDate(), to: eventDate(), intraday: z.boolean().optional() }).superRefine((e, ctx) => {
  const problem = dayRangeProblem(e, (f) => `event.${f}`);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
  if (e.intraday && (e.from || e.to)) ctx.addIssue({ code: 'custom', message: 'event.intraday computes one day: give dt or nothing, not from/to' });
});
export const ROLLUP_SHAPE = 'an object such as {}, { "dt": "2026-11-20" }, { "from": "2026-11-01", "to": "2026-11-20" } or { "intraday": true }';

/**
 * Parses `event` for the `job` function. `shape` is what the event must be, worded for the error
 * (`an object such as {} or { "month": "2026-10" }`).
 */
export function parseEvent<E>(schema: EventSchema<E>, event: unknown, job: string, shape: string): E {
  const input = event === undefined || event === null ? {} : event;
  if (typeof input !== 'object' || Array.isArray(input)) throw new Error(`the ${job} event must be ${shape}, got ${JSON.stringify(event)}`);
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown) {
    const accepted = keysOf(schema);
    const what = accepted.length ? `accepts only ${listed(accepted)}` : 'takes no fields';
    throw new Error(`the ${job} event ${what}, got ${quoted(unknown.keys).join(', ')}`);
  }
  const first = issues.find((i) => i.path.length) ?? issues[0]!;
  if (!first.path.length) throw new Error(first.message);
  throw new Error(`event.${first.path.join('.')} must be ${first.message}, got ${JSON.stringify(first.input)}`);
}
