/**
 * The Athena adapter of the query engine port: runs one statement in a workgroup, waits for it,
 * and reads its rows back as the plain values the port promises (the same as DuckDB's).
 *
 * Every API call goes through the shared retry policy (util/retry.ts); the client is built with the
 * SDK's own retries off. StartQueryExecution carries one ClientRequestToken across its retries, so
 * a retried start that did reach Athena returns the same query instead of starting another one.
 *
 * Values for `?` travel as ExecutionParameters. Athena puts each one into the statement as SQL
 * literal text, not as a typed value (docs: "To treat SQL execution parameters as strings, they
 * must be enclosed in single quotes rather than double quotes", and a DATE is entered as
 * `CAST('2014-07-05' AS DATE)`; https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html).
 * So a string is sent as a Trino string literal with embedded quotes doubled ('O''Brien'), a number
 * as its decimal text, a boolean as true/false and null as NULL. The same page says parameters work
 * with SELECT, INSERT INTO, CTAS and UNLOAD only, and (for now) only in the WHERE clause.
 */
import type { Config } from '../config/schema';
import { countPlaceholders } from '../sql/placeholders';
import { randomUUID } from 'node:crypto';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
  type QueryExecution,
  type Row,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { setTimeout as delay } from 'node:timers/promises';
import { isTransient, retryPolicy, ServiceOperationError, withRetry, type RetryOptions, type RetryPolicy } from '../util/retry';
import type { EngineResult, QueryEngine, QueryStats, SqlValue } from './port';

/** GetQueryResults' largest page (API reference: MaxResults, 1 to 1000). */
export const ATHENA_PAGE_SIZE = 1000;
const DEFAULT_POLL = { first: 500, max: 5_000 };
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Athena's own error codes worth another attempt, beyond the generic throttling and timeout ones. */
const ATHENA_TRANSIENT_NAMES: ReadonlySet<string> = new Set(['InternalServerException']);

export interface AthenaEngineOptions {
  workgroup: string;
  /** The Glue database unqualified table names resolve in. */
  database: string;
  /** `s3://bucket/prefix/` (or `s3://bucket/`): the lake root that unload locations are relative to. */
  lakeUri: string;
  /** Where Athena writes result files; when absent, the workgroup's own setting applies. */
  outputLocation?: string;
  /** Delay before the second GetQueryExecution, doubling up to `max`. Default 500 ms, max 5 s. */
  pollMs?: { first: number; max: number };
  /** How long a query may run before it is stopped. Default 10 minutes. */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Injectable so tests need not wait; also the retry policy's sleep unless `retry.sleep` is given. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable clock (ms) for the timeout and measured durations. */
  now?: () => number;
  /** Called once per query that got an id: { queryId, bytesScanned, durationMs, state, firstLine }. */
  log?: (event: Record<string, unknown>) => void;
}

/** An Athena request that failed for good: names the operation and the workgroup or query id. */
export class AthenaOperationError extends ServiceOperationError {
  constructor(operation: string, target: string, attempts: number, cause: unknown) {
    super(operation, target, attempts, cause);
    this.name = 'AthenaOperationError';
  }
}

/** A query that ran but did not succeed: FAILED, CANCELLED, or stopped for running too long. */
export class AthenaQueryError extends Error {
  constructor(
    message: string,
    readonly queryId: string,
    readonly state: 'FAILED' | 'CANCELLED' | 'TIMED_OUT',
  ) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}

/** A Trino string literal: single quotes, embedded ones doubled. */
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** One value as the SQL literal text Athena substitutes for its `?` (see the header comment). */
export function executionParameter(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot bind ${value} to an Athena parameter: it has no SQL literal`);
    return String(value);
  }
  return sqlString(value);
}

/** The first line that says something (not blank, not a `--` comment), for logs and error messages. */
export function firstLine(sql: string): string {
  const line =
    sql
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('--')) ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint']);
const NUMBER_TYPES = new Set(['double', 'real', 'float', 'decimal']);
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/;

/**
 * A result value (always text in GetQueryResults) as a plain value, by the column's Athena type:
 * integers as numbers (beyond 2^53 as decimal text), DOUBLE/REAL/DECIMAL as numbers, BOOLEAN as a
 * boolean, DATE as-is, TIMESTAMP ('2026-11-20 10:00:00.000') as ISO-8601 UTC; others as text.
 */
export function fromAthena(text: string | undefined, type: string): unknown {
  if (text === undefined) return null;
  const base = type
    .toLowerCase()
    .replace(/\(.*\)$/, '')
    .trim();
  if (INTEGER_TYPES.has(base)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (NUMBER_TYPES.has(base)) return Number(text);
  if (base === 'boolean') return text === 'true';
  if (base === 'timestamp') {
    const m = TIMESTAMP.exec(text);
    return m ? `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z` : text;
  }
  return text;
}

/** A SELECT's first row on the first page repeats the column names (API reference, GetQueryResults). */
function isHeaderRow(row: Row | undefined, columns: readonly ColumnInfo[]): boolean {
  const data = row?.Data ?? [];
  return data.length === columns.length && data.every((d, i) => d.VarCharValue === columns[i]!.Name || d.VarCharValue === columns[i]!.Label);
}

interface Execution {
  queryId: string;
  execution: QueryExecution;
  stats: QueryStats;
}

export class AthenaEngine implements QueryEngine {
  readonly kind = 'athena' as const;
  private readonly options: AthenaEngineOptions;
  private readonly poll: { first: number; max: number };
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly client: AthenaClient,
    options: AthenaEngineOptions,
  ) {
    if (!/^s3:\/\/[^/]+\/([^/]+\/)*$/.test(options.lakeUri)) {
      throw new Error(`invalid lake URI ${JSON.stringify(options.lakeUri)}: expected s3://bucket/ or s3://bucket/prefix/ (ending in '/')`);
    }
    if (!options.workgroup) throw new Error('an Athena workgroup is required');
    if (!options.database) throw new Error('a Glue database name is required');
    const poll = options.pollMs ?? DEFAULT_POLL;
    if (!(poll.first > 0 && poll.max >= poll.first)) throw new Error(`invalid poll delays ${JSON.stringify(poll)}: need 0 < first <= max`);
    this.options = options;
    this.poll = poll;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.now = options.now ?? Date.now;
    this.retry = retryPolicy({ ...options.retry, sleep: options.retry?.sleep ?? options.sleep });
  }

  /** Athena reads the Glue catalog at every query: nothing to refresh (functions/lib/engine/port.ts). */
  async refresh(): Promise<void> {}

  async query(sql: string, params: SqlValue[] = []): Promise<EngineResult> {
    const { queryId, execution, stats } = await this.execute(sql, params);
    // DDL (CREATE [OR REPLACE] VIEW, CREATE/ALTER/DROP TABLE) has no result table to read.
    if (execution.StatementType === 'DDL') return { columns: [], rows: [], stats };

    let columns: ColumnInfo[] = [];
    const rows: Record<string, unknown>[] = [];
    let NextToken: string | undefined;
    let first = true;
    do {
      const token = NextToken;
      const page = await this.call('GetQueryResults', `query ${queryId}`, () =>
        this.client.send(new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: ATHENA_PAGE_SIZE, NextToken: token })),
      );
      let pageRows = page.ResultSet?.Rows ?? [];
      if (first) {
        columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
        // Only the first page of a SELECT (StatementType DML) starts with the header row.
        if (execution.StatementType === 'DML' && isHeaderRow(pageRows[0], columns)) pageRows = pageRows.slice(1);
        first = false;
      }
      for (const r of pageRows) {
        const row: Record<string, unknown> = {};
        columns.forEach((c, i) => (row[c.Name ?? `_col${i}`] = fromAthena(r.Data?.[i]?.VarCharValue, c.Type ?? 'varchar')));
        rows.push(row);
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return { columns: columns.map((c, i) => ({ name: c.Name ?? `_col${i}`, type: c.Type ?? '' })), rows, stats };
  }

  /**
   * `UNLOAD (select) TO 'lakeUri + location' WITH (format = 'PARQUET', compression = 'ZSTD')`. ZSTD
   * for Parquet UNLOAD is Athena engine version 3 (docs: compression-support-zstd-levels.html);
   * execution parameters are allowed in UNLOAD (querying-with-prepared-statements.html).
   */
  async unload(select: string, params: SqlValue[], location: string): Promise<QueryStats> {
    if (!location.endsWith('/') || location.startsWith('/') || location.startsWith('s3://')) {
      throw new Error(`invalid unload location ${JSON.stringify(location)}: expected a lake key prefix ending in '/'`);
    }
    const body = select.trim().replace(/;+\s*$/, '');
    const sql = `UNLOAD (${body}) TO ${sqlString(this.options.lakeUri + location)} WITH (format = 'PARQUET', compression = 'ZSTD')`;
    return (await this.execute(sql, params)).stats;
  }

  /** Starts a statement and waits until it ends; anything but SUCCEEDED throws an AthenaQueryError. */
  private async execute(sql: string, params: SqlValue[]): Promise<Execution> {
    const line = firstLine(sql);
    const placeholders = countPlaceholders(sql);
    if (placeholders !== params.length) {
      throw new Error(`Athena query has ${placeholders} ? placeholder(s) but ${params.length} parameter(s) were given: ${line}`);
    }
    const ExecutionParameters = params.map(executionParameter);
    const { workgroup, database, outputLocation } = this.options;
    const input: StartQueryExecutionCommandInput = {
      QueryString: sql,
      QueryExecutionContext: { Database: database },
      WorkGroup: workgroup,
      // The same token on every attempt: a retried start that did reach Athena is not run twice.
      ClientRequestToken: randomUUID(),
      ...(outputLocation ? { ResultConfiguration: { OutputLocation: outputLocation } } : {}),
      ...(ExecutionParameters.length > 0 ? { ExecutionParameters } : {}),
    };

    const submitted = this.now();
    const started = await this.call('StartQueryExecution', `workgroup ${workgroup}`, () => this.client.send(new StartQueryExecutionCommand(input)));
    const queryId = started.QueryExecutionId;
    if (!queryId) throw new Error(`StartQueryExecution returned no QueryExecutionId: ${line}`);

    const report = (execution: QueryExecution | undefined, state: string): QueryStats => {
      const stats: QueryStats = {
        engine: 'athena',
        queryId,
        bytesScanned: execution?.Statistics?.DataScannedInBytes ?? null,
        durationMs: execution?.Statistics?.TotalExecutionTimeInMillis ?? this.now() - submitted,
      };
      this.options.log?.({ queryId, bytesScanned: stats.bytesScanned, durationMs: stats.durationMs, state, firstLine: line });
      return stats;
    };

    const { first, max } = this.poll;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = this.now() + timeoutMs;
    for (let wait = first; ; wait = Math.min(wait * 2, max)) {
      const out = await this.call('GetQueryExecution', `query ${queryId}`, () => this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId })));
      const execution = out.QueryExecution ?? {};
      const status = execution.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return { queryId, execution, stats: report(execution, state) };
      if (state === 'FAILED' || state === 'CANCELLED') {
        report(execution, state);
        const reason = status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? 'no reason given';
        throw new AthenaQueryError(`Athena query ${queryId} ${state}: ${reason} (SQL: ${line})`, queryId, state);
      }
      const left = deadline - this.now();
      if (left <= 0) {
        let stopped = 'stopped';
        try {
          await this.call('StopQueryExecution', `query ${queryId}`, () => this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryId })));
        } catch (err) {
          stopped = `not stopped: ${(err as Error).message}`;
        }
        report(execution, 'TIMED_OUT');
        throw new AthenaQueryError(
          `Athena query ${queryId} timed out after ${timeoutMs} ms (still ${state ?? 'unknown'}; ${stopped}) (SQL: ${line})`,
          queryId,
          'TIMED_OUT',
        );
      }
      await this.sleep(Math.min(wait, left));
    }
  }

  /** One request, retried on throttling and transient failures; a final failure throws an AthenaOperationError. */
  private call<T>(operation: string, target: string, attempt: () => Promise<T>): Promise<T> {
    return withRetry(this.retry, attempt, {
      retryable: (err) => isTransient(err, ATHENA_TRANSIENT_NAMES),
      giveUp: (err, attempts) => new AthenaOperationError(operation, target, attempts, err),
    });
  }
}

/** An Athena client that makes one attempt per request: retries are the adapter's job and must not stack. */
export function athenaClientFor(region?: string): AthenaClient {
  return new AthenaClient({ ...(region ? { region } : {}), maxAttempts: 1 });
}

/** Athena over the configured S3 lake and Glue database (`aws.athena.workgroup`, `aws.glueDatabase`). */
export function athenaEngineFromConfig(config: Config, log?: AthenaEngineOptions['log']): AthenaEngine {
  if (!('s3' in config.lake)) throw new Error('Athena needs a lake on S3 (config lake.s3)');
  const { bucket, prefix, region } = config.lake.s3;
  return new AthenaEngine(athenaClientFor(config.aws.region ?? region), {
    workgroup: config.aws.athena.workgroup,
    database: config.aws.glueDatabase,
    lakeUri: `s3://${bucket}/${prefix}`,
    outputLocation: config.aws.athena.outputLocation,
    log,
  });
}
