/**
 * The local notifier: each alert is printed (one line: severity, day, detector, entity, message) and
 * kept in the lake as JSON: `alerts/dt=<day>/alerts.json` holds every alert delivered for that day
 * (rewritten whole on each delivery, so it is always complete), a digest goes to
 * `alerts/digests/<id>.json`.
 */
import { ObjectNotFoundError, type ObjectStore } from '../../store/port';
import type { AlertMessage, Notifier, PublishOutcome } from './port';

export const ALERTS_PREFIX = 'alerts/';

export class LocalNotifier implements Notifier {
  readonly location: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly print: (line: string) => void,
  ) {
    this.location = `${store.location}${ALERTS_PREFIX}`;
  }

  async publish(messages: readonly AlertMessage[]): Promise<PublishOutcome[]> {
    const outcomes: PublishOutcome[] = [];
    const byDay = new Map<string, AlertMessage[]>();
    for (const m of messages) {
      if (m.kind === 'digest') {
        const key = `${ALERTS_PREFIX}digests/${m.id}.json`;
        await this.store.put(key, JSON.stringify(m.body, null, 2) + '\n', { contentType: 'application/json' });
        this.print(`ALERT ${m.subject} (digest: ${this.store.location}${key})`);
        outcomes.push({ id: m.id, delivered: true, messageId: key });
        continue;
      }
      for (const dt of m.dts) byDay.set(dt, [...(byDay.get(dt) ?? []), m]);
    }
    for (const [dt, list] of [...byDay].sort(([a], [b]) => a.localeCompare(b))) {
      const key = `${ALERTS_PREFIX}dt=${dt}/alerts.json`;
      const kept = await this.read(key);
      const ids = new Set(kept.map((a) => a.id));
      for (const m of list) if (!ids.has(m.id)) kept.push({ id: m.id, ...m.body });
      await this.store.put(key, JSON.stringify(kept, null, 2) + '\n', { contentType: 'application/json' });
      for (const m of list) {
        this.print(`ALERT ${m.subject}: ${String(m.body.message ?? '')}`);
        outcomes.push({ id: m.id, delivered: true, messageId: key });
      }
    }
    const order = new Map(messages.map((m, i) => [m.id, i]));
    return outcomes.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  }

  private async read(key: string): Promise<{ id: string }[]> {
    try {
      return JSON.parse(new TextDecoder().decode(await this.store.get(key))) as { id: string }[];
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return [];
      throw err;
    }
  }
}
