/**
 * Raw-zone object keys exactly as Firehose writes them (CONTRACTS section 1):
 * `<rawPrefix>year=YYYY/month=MM/day=DD/hour=HH/<stream>-<n>-YYYY-MM-DD-HH-mm-ss-<uuid>.parquet`,
 * where the date parts are the arrival time in UTC and `<n>` is the delivery stream version.
 */
import { randomUUID } from 'node:crypto';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function hourPrefix(rawPrefix: string, arrivalMs: number): string {
  const d = new Date(arrivalMs);
  return `${rawPrefix}year=${d.getUTCFullYear()}/month=${pad(d.getUTCMonth() + 1)}/day=${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}/`;
}

export function rawObjectKey(rawPrefix: string, stream: string, arrivalMs: number, uuid: string = randomUUID(), streamVersion = 1): string {
  const d = new Date(arrivalMs);
  const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `${hourPrefix(rawPrefix, arrivalMs)}${stream}-${streamVersion}-${stamp}-${uuid}.parquet`;
}

const RAW_KEY = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/[^/]+$/;

/** Arrival hour (epoch ms at the top of the hour) of a raw key, or null when the key has no hour partition. */
export function arrivalHourOf(key: string): number | null {
  const m = RAW_KEY.exec(key);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
}
