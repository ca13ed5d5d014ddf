/**
 * The vendored botocore service models (test/aws-models/, provenance in its README), parsed once
 * per service and process.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const MODELS_DIR = fileURLToPath(new URL('../aws-models/', import.meta.url));

/** A member reference of a structure (or the member/key/value of a list or map). */
export interface MemberRef {
  shape: string;
  documentation?: string;
  deprecated?: boolean;
  deprecatedMessage?: string;
  deprecatedSince?: string;
  location?: string;
  locationName?: string;
  idempotencyToken?: boolean;
  jsonvalue?: boolean;
  streaming?: boolean;
}

export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'blob' | 'boolean' | 'integer' | 'long' | 'float' | 'double' | 'timestamp';
  members?: Record<string, MemberRef>;
  required?: string[];
  union?: boolean;
  document?: boolean;
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  streaming?: boolean;
  deprecated?: boolean;
  deprecatedMessage?: string;
  documentation?: string;
}

export interface Operation {
  name: string;
  input?: { shape: string };
  deprecated?: boolean;
  deprecatedMessage?: string;
  documentation?: string;
}

export interface ServiceModel {
  metadata: { serviceId: string; apiVersion: string; protocol: string; endpointPrefix: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

/** The model file (by its service prefix) of each SDK v3 client class the project uses or will. */
export const CLIENT_MODELS: Record<string, string> = {
  AthenaClient: 'athena',
  CloudWatchClient: 'cloudwatch',
  CloudWatchLogsClient: 'logs',
  FirehoseClient: 'firehose',
  GlueClient: 'glue',
  IAMClient: 'iam',
  QuickSightClient: 'quicksight',
  S3Client: 's3',
  SchedulerClient: 'scheduler',
  SNSClient: 'sns',
  SSMClient: 'ssm',
  STSClient: 'sts',
};

const cache = new Map<string, ServiceModel>();

/** The vendored model of a service (`s3`, `glue`, `quicksight`…), parsed once. */
export function loadServiceModel(service: string): ServiceModel {
  let model = cache.get(service);
  if (!model) {
    const files = readdirSync(MODELS_DIR).filter((f) => f.startsWith(`${service}-`) && f.endsWith('.service-2.json.gz'));
    if (files.length !== 1) throw new Error(`expected one vendored model for ${service} in ${MODELS_DIR}, found ${files.length}`);
    model = JSON.parse(gunzipSync(readFileSync(MODELS_DIR + files[0])).toString('utf8')) as ServiceModel;
    cache.set(service, model);
  }
  return model;
}

/** Registers a hand-made model under `service` (for the validator's own tests). */
export function registerServiceModel(service: string, model: ServiceModel): void {
  cache.set(service, model);
}

/** The service prefix of an SDK client class name (`S3Client` → `s3`); throws for a client with no vendored model. */
export function serviceOfClient(clientName: string): string {
  const service = CLIENT_MODELS[clientName];
  if (!service) throw new Error(`no vendored AWS model for ${clientName}: add it to test/aws-models/ and CLIENT_MODELS`);
  return service;
}
