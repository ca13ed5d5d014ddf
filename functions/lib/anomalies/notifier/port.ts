/**
 * The notifier port: where alerts go. SNS on AWS (sns.ts: one message per anomaly, subscribers
 * filter on its attributes), stdout plus a JSON file per day in the lake locally (local.ts). The
 * delivery ledger (../delivery.ts) decides what is new; a notifier only sends and reports, per
 * message, whether it was accepted, never swallowing a failure.
 */
export interface AlertMessage {
  /** Deterministic: the anomaly's id, or for a digest a hash of the ids it covers. */
  id: string;
  kind: 'anomaly' | 'digest';
  /** One line of printable ASCII, at most 100 characters (SNS's Subject limit). */
  subject: string;
  /** What subscribers receive, as JSON. */
  body: Record<string, unknown>;
  /** For subscription filters: severity, detector, dt, entity_type. */
  attributes: Record<string, string>;
  /** The days the message is about (local files are kept per day). */
  dts: string[];
}

export interface PublishOutcome {
  id: string;
  delivered: boolean;
  /** The service's id for the message (SNS MessageId). */
  messageId?: string;
  /** Why it was not delivered (the service's code and message). */
  error?: string;
}

export interface Notifier {
  /** `sns://arn...` or the local alerts folder: for messages. */
  readonly location: string;
  /** Sends every message; one outcome per message, in order. Throws only for a misuse, never for a send that failed. */
  publish(messages: readonly AlertMessage[]): Promise<PublishOutcome[]>;
}
