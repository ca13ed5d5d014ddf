/**
 * Validates an operation's input against its botocore model, the way the service would before
 * acting on it: required members, enums, patterns (full match, Java dialect), string and blob
 * lengths, list and map bounds, numeric ranges, unions (exactly one member), unknown members,
 * types, deprecations, URI labels, plus the rules the model states only in prose
 * (aws-model-rules.ts). Each violation names the full path of the offending member.
 */
import { appendFileSync } from 'node:fs';
import { loadServiceModel, type MemberRef, type ServiceModel, type Shape } from './aws-model-loader';
import { fullMatchRegex } from './aws-model-regex';
import { PROSE_RULES, type ModelSession, type ProseRule } from './aws-model-rules';

export type ViolationKind =
  | 'operation'
  | 'required'
  | 'unknown'
  | 'type'
  | 'enum'
  | 'pattern'
  | 'length'
  | 'range'
  | 'union'
  | 'deprecated'
  | 'uri-label'
  | 'prose';

export interface Violation {
  /** The member's path in the input: `SnapshotConfiguration.FileGroups[0].Files[0].SheetSelections`; `(input)` for the whole input. */
  path: string;
  kind: ViolationKind;
  message: string;
  /** The prose rule's id, for kind 'prose'. */
  rule?: string;
}

export interface ValidateOptions {
  /**
   * Deprecated members or operations this caller knowingly sends, as `Shape.Member` (the member's
   * structure shape name) or the operation name. Anything else deprecated is a violation.
   */
  allowDeprecated?: readonly string[];
  /** State shared by the requests of one test (e.g. the columns of datasets created earlier). */
  session?: ModelSession;
}

export function newModelSession(): ModelSession {
  return { dataSetColumns: new Map() };
}

const rulesByShape = new Map<string, ProseRule[]>();
for (const rule of PROSE_RULES) {
  const key = `${rule.service}:${rule.shape}`;
  rulesByShape.set(key, [...(rulesByShape.get(key) ?? []), rule]);
}

/** The label of a service in messages: its model's serviceId without spaces (`QuickSight`, `CloudWatchLogs`). */
export function serviceLabel(service: string): string {
  return loadServiceModel(service).metadata.serviceId.replace(/ /g, '');
}

/** Every way `input` breaks the model of `service`'s `operation` (empty when AWS would accept it). */
export function validateInput(service: string, operation: string, input: unknown, options: ValidateOptions = {}): Violation[] {
  const model = loadServiceModel(service);
  const op = model.operations[operation];
  if (!op) return [{ path: '(input)', kind: 'operation', message: `${serviceLabel(service)} has no operation ${operation}` }];
  const v = new Validator(service, model, operation, options);
  if (op.deprecated && !v.allowed(operation)) {
    v.add('(input)', 'deprecated', `operation ${operation} is deprecated${op.deprecatedMessage ? `: ${op.deprecatedMessage}` : ''}`);
  }
  if (!op.input) {
    if (input !== undefined && !(isPlainObject(input) && Object.values(input).every((x) => x === undefined)))
      v.add('(input)', 'unknown', 'the operation takes no input');
    return v.violations;
  }
  v.visit(input ?? {}, op.input.shape, '', undefined);
  return v.violations;
}

/** Violations as lines `QuickSight.StartDashboardSnapshotJob: path: message`. */
export function formatViolations(service: string, operation: string, violations: readonly Violation[]): string {
  return violations.map((x) => `${serviceLabel(service)}.${operation}: ${x.path}: ${x.message}`).join('\n');
}

class Validator {
  readonly violations: Violation[] = [];

  constructor(
    private readonly service: string,
    private readonly model: ServiceModel,
    private readonly operation: string,
    private readonly options: ValidateOptions,
  ) {}

  add(path: string, kind: ViolationKind, message: string, rule?: string): void {
    this.violations.push({ path: path || '(input)', kind, message, ...(rule ? { rule } : {}) });
  }

  allowed(name: string): boolean {
    return this.options.allowDeprecated?.includes(name) ?? false;
  }

  private shape(name: string): Shape {
    const s = this.model.shapes[name];
    if (!s) throw new Error(`${this.service} model has no shape ${name}`);
    return s;
  }

  /** Checks `value` (not undefined) against shape `shapeName`; `ref` is the member reference that led here. */
  visit(value: unknown, shapeName: string, path: string, ref: MemberRef | undefined): void {
    const shape = this.shape(shapeName);
    const at = path || '(input)';
    if (value === null) {
      this.add(at, 'type', 'is null (omit the member instead)');
      return;
    }
    switch (shape.type) {
      case 'structure':
        return this.structure(value, shapeName, shape, path);
      case 'list': {
        if (!Array.isArray(value)) return this.add(at, 'type', `must be a list, got ${typeOf(value)}`);
        this.bounds(at, value.length, shape, 'items');
        value.forEach((item, i) => {
          if (item === undefined) this.add(`${path}[${i}]`, 'type', 'is undefined');
          else this.visit(item, shape.member!.shape, `${path}[${i}]`, shape.member);
        });
        return;
      }
      case 'map': {
        if (!isPlainObject(value)) return this.add(at, 'type', `must be a map (object), got ${typeOf(value)}`);
        const entries = Object.entries(value).filter(([, x]) => x !== undefined);
        this.bounds(at, entries.length, shape, 'entries');
        for (const [k, x] of entries) {
          this.visit(k, shape.key!.shape, `${path} key ${JSON.stringify(k)}`, shape.key);
          this.visit(x, shape.value!.shape, `${path}[${JSON.stringify(k)}]`, shape.value);
        }
        return;
      }
      case 'string': {
        if (ref?.jsonvalue) return; // a JSON document carried in a string: the SDK serializes objects too
        if (typeof value !== 'string') return this.add(at, 'type', `must be a string, got ${typeOf(value)}`);
        if (shape.enum && !shape.enum.includes(value)) {
          this.add(at, 'enum', `${JSON.stringify(value)} is not one of ${shape.enum.map((e) => JSON.stringify(e)).join(', ')}`);
        }
        this.bounds(at, value.length, shape, 'characters');
        if (shape.pattern !== undefined) {
          const re = fullMatchRegex(shape.pattern);
          if (re instanceof Error) this.add(at, 'pattern', `cannot be checked: ${re.message}`);
          else if (!re.test(value)) this.add(at, 'pattern', `${JSON.stringify(clip(value))} does not match the pattern ${shape.pattern}`);
        }
        return;
      }
      case 'blob': {
        const streaming = shape.streaming || ref?.streaming;
        if (streaming) {
          if (!(typeof value === 'string' || value instanceof Uint8Array || isStreamLike(value)))
            this.add(at, 'type', `must be a string, bytes or a stream, got ${typeOf(value)}`);
          return;
        }
        if (typeof value === 'string') return this.bounds(at, Buffer.byteLength(value), shape, 'bytes');
        if (value instanceof Uint8Array) return this.bounds(at, value.byteLength, shape, 'bytes');
        return this.add(at, 'type', `must be bytes (Uint8Array) or a string, got ${typeOf(value)}`);
      }
      case 'boolean':
        if (typeof value !== 'boolean') this.add(at, 'type', `must be a boolean, got ${typeOf(value)}`);
        return;
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) return this.add(at, 'type', `must be an integer, got ${typeOf(value)} ${String(value)}`);
        return this.range(at, value, shape);
      case 'float':
      case 'double':
        if (typeof value !== 'number' || !Number.isFinite(value)) return this.add(at, 'type', `must be a finite number, got ${typeOf(value)} ${String(value)}`);
        return this.range(at, value, shape);
      case 'timestamp':
        if (!(value instanceof Date) || Number.isNaN(value.getTime())) this.add(at, 'type', `must be a valid Date, got ${typeOf(value)}`);
        return;
      default:
        throw new Error(`${this.service} shape ${shapeName} has unsupported type ${(shape as Shape).type}`);
    }
  }

  private structure(value: unknown, shapeName: string, shape: Shape, path: string): void {
    const at = path || '(input)';
    if (shape.document) return; // free-form JSON
    if (!isPlainObject(value)) return this.add(at, 'type', `must be a structure (object), got ${typeOf(value)}`);
    const members = shape.members ?? {};
    const dot = path ? `${path}.` : '';
    for (const name of Object.keys(value)) {
      // An undefined member is not serialized (lib-storage passes `Body: undefined` to CreateMultipartUpload).
      if (!(name in members) && value[name] !== undefined) {
        const near = Object.keys(members).find((m) => m.toLowerCase() === name.toLowerCase());
        this.add(`${dot}${name}`, 'unknown', `is not a member of ${shapeName}${near ? ` (did you mean ${near}?)` : ''}`);
      }
    }
    const set = Object.keys(members).filter((name) => value[name] !== undefined);
    for (const name of shape.required ?? []) {
      if (value[name] === undefined || value[name] === null) {
        if (members[name]?.idempotencyToken) continue; // the SDK fills it in
        this.add(`${dot}${name}`, 'required', `is required by ${shapeName}`);
      }
    }
    if (shape.union && set.length !== 1) {
      this.add(at, 'union', `${shapeName} is a union: set exactly one of its members, got ${set.length ? set.join(', ') : 'none'}`);
    }
    // Structures the model does not mark as unions but whose documentation says they are, e.g. QuickSight's
    // Visual, PhysicalTable, TransformOperation: "For this structure to be valid, only one of the attributes can be defined."
    if (!shape.union && set.length > 1 && DOCUMENTED_UNION.test(shape.documentation ?? '')) {
      this.add(
        at,
        'prose',
        `${shapeName} takes only one of its members ("only one of the attributes can be defined"), got ${set.join(', ')} [rule documented-union]`,
        'documented-union',
      );
    }
    for (const name of set) {
      const ref = members[name]!;
      const target = this.shape(ref.shape);
      const memberPath = `${dot}${name}`;
      if ((ref.deprecated || target.deprecated) && !this.allowed(`${shapeName}.${name}`)) {
        const why = ref.deprecatedMessage ?? target.deprecatedMessage;
        const since = ref.deprecatedSince ? ` since ${ref.deprecatedSince}` : '';
        this.add(
          memberPath,
          'deprecated',
          `${shapeName}.${name} is deprecated${since}${why ? `: ${why}` : ''} (allowDeprecated: ['${shapeName}.${name}'] to send it knowingly)`,
        );
      }
      if (ref.location === 'uri' && value[name] === '' && !target.min) {
        this.add(memberPath, 'uri-label', 'is part of the request path and cannot be empty');
      }
      recordCoverage(this.service, shapeName, name);
      this.visit(value[name], ref.shape, memberPath, ref);
    }
    for (const rule of rulesByShape.get(`${this.service}:${shapeName}`) ?? []) {
      const session = this.options.session ?? newModelSession();
      for (const found of rule.check(value, { operation: this.operation, session })) {
        this.add(found.at ? `${dot}${found.at}` : at, 'prose', `${found.message} [rule ${rule.id}]`, rule.id);
      }
    }
  }

  private bounds(at: string, size: number, shape: Shape, unit: string): void {
    if (shape.min !== undefined && size < shape.min) this.add(at, 'length', `has ${size} ${unit}, fewer than the minimum ${shape.min}`);
    if (shape.max !== undefined && size > shape.max) this.add(at, 'length', `has ${size} ${unit}, more than the maximum ${shape.max}`);
  }

  private range(at: string, n: number, shape: Shape): void {
    if (shape.min !== undefined && n < shape.min) this.add(at, 'range', `${n} is below the minimum ${shape.min}`);
    if (shape.max !== undefined && n > shape.max) this.add(at, 'range', `${n} is above the maximum ${shape.max}`);
  }
}

const DOCUMENTED_UNION = /only one of the attributes can be (defined|non-null)/i;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function isStreamLike(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.pipe === 'function' || typeof o.getReader === 'function' || typeof o.arrayBuffer === 'function' || Symbol.asyncIterator in o;
}

function typeOf(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (x instanceof Date) return 'a Date';
  if (x instanceof Uint8Array) return 'bytes';
  return typeof x;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// Which members the project's requests set (CCLAKE_MODEL_COVERAGE=file): the list whose prose
// documentation was scanned for rules (see aws-model-rules.ts).
const coverageFile = process.env.CCLAKE_MODEL_COVERAGE;
const covered = new Set<string>();
function recordCoverage(service: string, shape: string, member: string): void {
  if (!coverageFile) return;
  const key = `${service} ${shape}.${member}`;
  if (covered.has(key)) return;
  covered.add(key);
  appendFileSync(coverageFile, `${key}\n`);
}
