/** The notifier for a config: SNS when `anomalies.delivery.snsTopicArn` is set, else stdout and the lake's alerts/ folder. */
import type { Config } from '../../config/schema';
import type { ObjectStore } from '../../store/port';
import { LocalNotifier } from './local';
import type { Notifier } from './port';
import { snsClientFor, SnsNotifier } from './sns';

export function notifierFromConfig(
  config: Config,
  store: ObjectStore,
  print: (line: string) => void,
  topicArn = config.anomalies.delivery.snsTopicArn,
): Notifier {
  return topicArn ? new SnsNotifier(snsClientFor(topicArn), topicArn) : new LocalNotifier(store, print);
}
