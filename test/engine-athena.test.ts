/**
 * Request shapes, polling, timeouts, retries, result paging and value conversion of AthenaEngine,
 * against aws-sdk-client-mock (no network) with an injected clock and sleep.
 */
import { countPlaceholders } from '../functions/lib/sql/placeholders';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InternalServerException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  type ColumnInfo,
  type QueryExecution,
  type Row,
} from '@aws-sdk/client-athena';
import { modelCheckedMock } from './helpers/aws-model';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AthenaEngine,
  AthenaOperationError,
  AthenaQueryError,
  athenaClientFor,
  executionParameter,
  type AthenaEngineOptions,
} from '../functions/lib/engine/athena';

const LAKE = 's3://acme-lake/cclake/';
const QID = 'q-0001';

const client = new AthenaClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const athena = modelCheckedMock(client);
let clock: number;
let sleeps: number[];
let retrySleeps: number[];
let logs: Record<string, unknown>[];

function makeEngine(options: Partial<AthenaEngineOptions> = {}): AthenaEngine {
  return new AthenaEngine(client, {
    workgroup: 'cclake',
    database: 'analytics',
    lakeUri: LAKE,
    pollMs: { first: 100, max: 300 },
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    log: (event) => void logs.push(event),
    ...options,
    retry: { sleep: async (ms) => void retrySleeps.push(ms), ...options.retry },
  });
}

const meta = { $metadata: { httpStatusCode: 400 } };
const throttled = () => new TooManyRequestsException({ ...meta, message: 'Rate exceeded' });

function execution(State: string, extra: QueryExecution = {}): { QueryExecution: QueryExecution } {
  return { QueryExecution: { QueryExecutionId: QID, StatementType: 'DML', ...extra, Status: { State: State as never, ...extra.Status } } };
}

const SUCCEEDED = execution('SUCCEEDED', { Statistics: { DataScannedInBytes: 123_456, TotalExecutionTimeInMillis: 789 } });

const text = (...values: (string | undefined)[]): Row => ({ Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) });
const cols = (...specs: [string, string][]): ColumnInfo[] => specs.map(([Name, Type]) => ({ Name, Label: Name, Type }));

/** A started query that succeeds at once, with `pages` as its GetQueryResults answers. */
function succeedWith(...pages: { Rows: Row[]; ColumnInfo?: ColumnInfo[]; NextToken?: string }[]) {
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
  athena.on(GetQueryExecutionCommand).resolves(SUCCEEDED);
  let results = athena.on(GetQueryResultsCommand);
  for (const p of pages) {
    results = results.resolvesOnce({
      ResultSet: { Rows: p.Rows, ResultSetMetadata: p.ColumnInfo ? { ColumnInfo: p.ColumnInfo } : undefined },
      NextToken: p.NextToken,
    });
  }
}

const startInputs = () => athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);

beforeEach(() => {
  athena.reset();
  clock = 1_000_000;
  sleeps = [];
  retrySleeps = [];
  logs = [];
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AthenaEngine configuration', () => {
  it('checks the lake URI, workgroup, database and poll delays', () => {
    expect(makeEngine().kind).toBe('athena');
    for (const lakeUri of ['s3://acme-lake/cclake', 'acme-lake/cclake/', 's3://acme-lake//']) {
      expect(() => makeEngine({ lakeUri }), lakeUri).toThrow(/invalid lake URI .*\(ending in '\/'\)/);
    }
    expect(() => makeEngine({ workgroup: '' })).toThrow('an Athena workgroup is required');
    expect(() => makeEngine({ database: '' })).toThrow('a Glue database name is required');
    expect(() => makeEngine({ pollMs: { first: 500, max: 100 } })).toThrow(/invalid poll delays/);
  });

  it('builds a client that leaves retries to the adapter', async () => {
    const built = athenaClientFor('eu-west-1');
    expect(await built.config.maxAttempts()).toBe(1);
    expect(await built.config.region()).toBe('eu-west-1');
  });
});

describe('AthenaEngine parameters', () => {
  it('writes each value as the SQL literal Athena substitutes', () => {
    expect(executionParameter("O'Brien")).toBe("'O''Brien'");
    expect(executionParameter('')).toBe("''");
    expect(executionParameter('2026-01-01')).toBe("'2026-01-01'");
    expect(executionParameter(42)).toBe('42');
    expect(executionParameter(-1.5)).toBe('-1.5');
    expect(executionParameter(true)).toBe('true');
    expect(executionParameter(false)).toBe('false');
    expect(executionParameter(null)).toBe('NULL');
    expect(() => executionParameter(Number.NaN)).toThrow(/cannot bind NaN/);
    expect(() => executionParameter(Infinity)).toThrow(/cannot bind Infinity/);
  });

  it('counts placeholders outside string literals, quoted identifiers and comments', () => {
    expect(countPlaceholders('SELECT 1')).toBe(0);
    expect(countPlaceholders("SELECT * FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?")).toBe(2);
    expect(countPlaceholders('SELECT "odd?name" FROM t -- any ?\nWHERE x = ? /* or ? here */ AND y = ?')).toBe(2);
    expect(countPlaceholders("SELECT '?")).toBe(0);
  });

  it('sends the statement, database, workgroup and quoted ExecutionParameters, without an output location', async () => {
    succeedWith({ Rows: [text('n')], ColumnInfo: cols(['n', 'bigint']) });
    const sql =
      "SELECT count(*) AS n FROM events\nWHERE user_name = ? AND n > ? AND ratio < ? AND ok = ? AND x IS DISTINCT FROM ? AND dt = CAST(? AS DATE) AND tag <> '?'";

    await makeEngine().query(sql, ["O'Brien", 42, 0.25, true, null, '2026-01-01']);

    const [input] = startInputs();
    expect(input).toStrictEqual({
      QueryString: sql,
      QueryExecutionContext: { Database: 'analytics' },
      WorkGroup: 'cclake',
      ClientRequestToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ExecutionParameters: ["'O''Brien'", '42', '0.25', 'true', 'NULL', "'2026-01-01'"],
    });
    expect(athena.commandCalls(GetQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: QID }]);
  });

  it('sends the configured output location, and no ExecutionParameters without parameters', async () => {
    succeedWith({ Rows: [text('one'), text('1')], ColumnInfo: cols(['one', 'integer']) });

    await makeEngine({ outputLocation: 's3://acme-results/athena/' }).query('SELECT 1 AS one');

    expect(startInputs()[0]).toStrictEqual({
      QueryString: 'SELECT 1 AS one',
      QueryExecutionContext: { Database: 'analytics' },
      WorkGroup: 'cclake',
      ClientRequestToken: expect.any(String),
      ResultConfiguration: { OutputLocation: 's3://acme-results/athena/' },
    });
  });

  it('rejects a parameter count that differs from the placeholders before sending anything', async () => {
    const engine = makeEngine();
    await expect(engine.query("-- daily users\nSELECT * FROM events WHERE dt = ? AND note = '?'", ['2026-01-01', 'x'])).rejects.toThrow(
      "Athena query has 1 ? placeholder(s) but 2 parameter(s) were given: SELECT * FROM events WHERE dt = ? AND note = '?'",
    );
    await expect(engine.query('SELECT * FROM events WHERE dt = ?')).rejects.toThrow(/has 1 \? placeholder\(s\) but 0 parameter/);
    await expect(engine.unload('SELECT * FROM events WHERE dt = ?', [], 'out/')).rejects.toThrow(/has 1 \? placeholder\(s\) but 0/);
    await expect(engine.query('SELECT * FROM events WHERE x = ?', [Number.NaN])).rejects.toThrow(/cannot bind NaN/);
    expect(athena.calls()).toHaveLength(0);
    expect(logs).toEqual([]);
  });
});

describe('AthenaEngine execution', () => {
  it('polls QUEUED → RUNNING → SUCCEEDED with doubling delays up to the max', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(SUCCEEDED);
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { Rows: [text('n'), text('7')], ResultSetMetadata: { ColumnInfo: cols(['n', 'bigint']) } } });

    const result = await makeEngine().query('SELECT count(*) AS n FROM events');

    expect(sleeps).toEqual([100, 200, 300, 300]);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(5);
    expect(result.rows).toEqual([{ n: 7 }]);
    expect(result.stats).toEqual({ engine: 'athena', queryId: QID, bytesScanned: 123_456, durationMs: 789 });
  });

  it('throws a FAILED query with its id, reason and first line, without reading results', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(
        execution('FAILED', {
          Status: {
            StateChangeReason: "TABLE_NOT_FOUND: line 2:6: Table 'awsdatacatalog.analytics.evnts' does not exist",
            AthenaError: {
              ErrorCategory: 2,
              ErrorType: 1301,
              ErrorMessage: "TABLE_NOT_FOUND: line 2:6: Table 'awsdatacatalog.analytics.evnts' does not exist",
            },
          },
        }),
      );

    const err = await makeEngine()
      .query('\n-- daily active users\nSELECT count(*)\nFROM evnts')
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AthenaQueryError);
    expect((err as AthenaQueryError).message).toBe(
      `Athena query ${QID} FAILED: TABLE_NOT_FOUND: line 2:6: Table 'awsdatacatalog.analytics.evnts' does not exist (SQL: SELECT count(*))`,
    );
    expect((err as AthenaQueryError).queryId).toBe(QID);
    expect((err as AthenaQueryError).state).toBe('FAILED');
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    expect(logs).toEqual([{ queryId: QID, bytesScanned: null, durationMs: 100, state: 'FAILED', firstLine: 'SELECT count(*)' }]);
  });

  it('uses StateChangeReason when there is no AthenaError, and reports CANCELLED', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(execution('CANCELLED', { Status: { StateChangeReason: 'Query cancelled by user' } }));

    await expect(makeEngine().query('SELECT 1')).rejects.toThrow(`Athena query ${QID} CANCELLED: Query cancelled by user (SQL: SELECT 1)`);
  });

  it('stops a query that runs past the timeout and throws a timeout error naming it', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});

    const err = await makeEngine({ timeoutMs: 1_000, pollMs: { first: 100, max: 400 } })
      .query('SELECT * FROM huge')
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AthenaQueryError);
    expect((err as AthenaQueryError).state).toBe('TIMED_OUT');
    expect((err as Error).message).toBe(`Athena query ${QID} timed out after 1000 ms (still RUNNING; stopped) (SQL: SELECT * FROM huge)`);
    // 100 + 200 + 400, then only what is left of the second.
    expect(sleeps).toEqual([100, 200, 400, 300]);
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: QID }]);
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    expect(logs).toEqual([{ queryId: QID, bytesScanned: null, durationMs: 1_000, state: 'TIMED_OUT', firstLine: 'SELECT * FROM huge' }]);
  });

  it('still throws the timeout when StopQueryExecution fails, and says so', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(execution('QUEUED'));
    athena.on(StopQueryExecutionCommand).rejects(new InternalServerException({ $metadata: { httpStatusCode: 500 }, message: 'oops' }));

    await expect(makeEngine({ timeoutMs: 50, retry: { maxAttempts: 2 } }).query('SELECT 1')).rejects.toThrow(
      `Athena query ${QID} timed out after 50 ms (still QUEUED; not stopped: StopQueryExecution query ${QID} failed after 2 attempts: InternalServerException: oops)`,
    );
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(2);
  });

  it('retries a throttled StartQueryExecution with the same request and idempotency token', async () => {
    athena.on(StartQueryExecutionCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', { StatementType: 'DDL' }));

    await makeEngine({ retry: { baseDelayMs: 100 } }).query('CREATE OR REPLACE VIEW v AS SELECT 1 AS one');

    const inputs = startInputs();
    expect(inputs).toHaveLength(3);
    expect(inputs[1]).toEqual(inputs[0]);
    expect(inputs[2]).toEqual(inputs[0]);
    // Full jitter with Math.random() = 0.5: half of 100, then half of 200.
    expect(retrySleeps).toEqual([50, 100]);
    expect(sleeps).toEqual([]);
  });

  it('gives up on StartQueryExecution after the attempt budget, naming the operation and workgroup', async () => {
    athena.on(StartQueryExecutionCommand).rejects(throttled());

    const err = await makeEngine({ retry: { maxAttempts: 3 } })
      .query('SELECT 1')
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AthenaOperationError);
    expect((err as Error).message).toBe('StartQueryExecution workgroup cclake failed after 3 attempts: TooManyRequestsException: Rate exceeded');
    expect(startInputs()).toHaveLength(3);
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(0);
    expect(logs).toEqual([]);
  });

  it('does not retry a request Athena rejects as invalid', async () => {
    athena.on(StartQueryExecutionCommand).rejects(Object.assign(new Error('line 1:8: mismatched input'), { name: 'InvalidRequestException', ...meta }));

    await expect(makeEngine().query('SELEC 1')).rejects.toThrow(
      'StartQueryExecution workgroup cclake failed: InvalidRequestException: line 1:8: mismatched input',
    );
    expect(startInputs()).toHaveLength(1);
  });

  it('passes bytes scanned and duration to log once per query', async () => {
    succeedWith({ Rows: [text('one'), text('1')], ColumnInfo: cols(['one', 'integer']) });

    await makeEngine().query('-- header comment\n  SELECT 1 AS one  \nFROM t');

    expect(logs).toEqual([{ queryId: QID, bytesScanned: 123_456, durationMs: 789, state: 'SUCCEEDED', firstLine: 'SELECT 1 AS one' }]);
  });

  it('measures the duration when Athena gives no statistics', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('RUNNING'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED', { StatementType: 'DDL' }));

    const result = await makeEngine().query('CREATE OR REPLACE VIEW v AS SELECT 1 AS one');

    expect(result.stats).toEqual({ engine: 'athena', queryId: QID, bytesScanned: null, durationMs: 300 });
  });
});

describe('AthenaEngine results', () => {
  it('pages through GetQueryResults, skipping the header row of the first page only', async () => {
    const columns = cols(['user_key', 'varchar'], ['sessions', 'bigint']);
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(SUCCEEDED);
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: { Rows: [text('user_key', 'sessions'), text('a@x.io', '3'), text('b@x.io', '1')], ResultSetMetadata: { ColumnInfo: columns } },
        NextToken: 'page-2',
      })
      .rejectsOnce(new InternalServerException({ $metadata: { httpStatusCode: 500 }, message: 'try again' }))
      // A data row that happens to equal the column names is kept.
      .resolvesOnce({
        ResultSet: { Rows: [text('user_key', 'sessions'), text('c@x.io', '9')], ResultSetMetadata: { ColumnInfo: columns } },
        NextToken: 'page-3',
      })
      .resolvesOnce({ ResultSet: { Rows: [text('d@x.io', undefined)], ResultSetMetadata: { ColumnInfo: columns } } });

    const result = await makeEngine().query('SELECT user_key, sessions FROM daily');

    expect(result.columns).toEqual([
      { name: 'user_key', type: 'varchar' },
      { name: 'sessions', type: 'bigint' },
    ]);
    expect(result.rows).toEqual([
      { user_key: 'a@x.io', sessions: 3 },
      { user_key: 'b@x.io', sessions: 1 },
      { user_key: 'user_key', sessions: 'sessions' },
      { user_key: 'c@x.io', sessions: 9 },
      { user_key: 'd@x.io', sessions: null },
    ]);
    const base = { QueryExecutionId: QID, MaxResults: 1000 };
    expect(athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input)).toEqual([
      { ...base, NextToken: undefined },
      { ...base, NextToken: 'page-2' },
      { ...base, NextToken: 'page-2' },
      { ...base, NextToken: 'page-3' },
    ]);
    expect(retrySleeps).toHaveLength(1);
  });

  it('returns no rows for a SELECT with an empty result (only the header row)', async () => {
    succeedWith({ Rows: [text('n')], ColumnInfo: cols(['n', 'bigint']) });

    const result = await makeEngine().query('SELECT n FROM t WHERE false');

    expect(result.rows).toEqual([]);
    expect(result.columns).toEqual([{ name: 'n', type: 'bigint' }]);
  });

  it('keeps the first row of a UTILITY statement, which has no header row', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED', { StatementType: 'UTILITY' }));
    athena
      .on(GetQueryResultsCommand)
      .resolves({ ResultSet: { Rows: [text('tab_name'), text('events')], ResultSetMetadata: { ColumnInfo: cols(['tab_name', 'string']) } } });

    expect((await makeEngine().query('SHOW TABLES')).rows).toEqual([{ tab_name: 'tab_name' }, { tab_name: 'events' }]);
  });

  it('converts every column type to the port plain values, and missing values to null', async () => {
    const columns = cols(
      ['ti', 'tinyint'],
      ['si', 'smallint'],
      ['i', 'integer'],
      ['bi', 'bigint'],
      ['big', 'bigint'],
      ['neg', 'bigint'],
      ['d', 'double'],
      ['r', 'real'],
      ['f', 'float'],
      ['dec', 'decimal'],
      ['b', 'boolean'],
      ['dt', 'date'],
      ['ts', 'timestamp'],
      ['ts6', 'timestamp(6)'],
      ['v', 'varchar'],
      ['c', 'char'],
      ['arr', 'array'],
    );
    succeedWith({
      ColumnInfo: columns,
      Rows: [
        text(...columns.map((c) => c.Name)),
        text(
          '-7',
          '300',
          '2147483647',
          '9007199254740991',
          '9007199254740993',
          '-9223372036854775808',
          '0.1',
          '2.5',
          '-3.25',
          '12345.67',
          'true',
          '2026-11-20',
          '2026-11-20 10:00:00.000',
          '2026-11-20 10:00:00.123456',
          "O'Brien",
          'x',
          '[1, 2]',
        ),
        text('0', '0', '0', '0', '0', '0', '1e-7', 'NaN', 'Infinity', '0', 'false', '1970-01-01', '2026-01-01 00:00:05', '', '', 'y', '[]'),
        text(...columns.map(() => undefined)),
      ],
    });

    const result = await makeEngine().query('SELECT * FROM types');

    expect(result.rows[0]).toStrictEqual({
      ti: -7,
      si: 300,
      i: 2_147_483_647,
      bi: 9_007_199_254_740_991,
      big: '9007199254740993',
      neg: '-9223372036854775808',
      d: 0.1,
      r: 2.5,
      f: -3.25,
      dec: 12_345.67,
      b: true,
      dt: '2026-11-20',
      ts: '2026-11-20T10:00:00.000Z',
      ts6: '2026-11-20T10:00:00.123Z',
      v: "O'Brien",
      c: 'x',
      arr: '[1, 2]',
    });
    expect(result.rows[1]).toMatchObject({ d: 1e-7, f: Infinity, b: false, dt: '1970-01-01', ts: '2026-01-01T00:00:05.000Z', ts6: '', v: '', c: 'y' });
    expect(result.rows[1]!.r).toBeNaN();
    expect(Object.values(result.rows[2]!)).toEqual(columns.map(() => null));
    expect(Object.keys(result.rows[2]!)).toEqual(columns.map((c) => c.Name));
    expect(result.rows).toHaveLength(3);
  });

  it('returns no columns and no rows for DDL, without reading results', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('SUCCEEDED', { StatementType: 'DDL', Statistics: { DataScannedInBytes: 0, TotalExecutionTimeInMillis: 412 } }));

    const result = await makeEngine().query('CREATE OR REPLACE VIEW daily_users AS\nSELECT dt, count(DISTINCT user_key) AS users FROM events GROUP BY dt');

    expect(result).toEqual({ columns: [], rows: [], stats: { engine: 'athena', queryId: QID, bytesScanned: 0, durationMs: 412 } });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    expect(startInputs()[0]).not.toHaveProperty('ExecutionParameters');
  });
});

describe('AthenaEngine unload', () => {
  it('runs UNLOAD to the lake location as ZSTD Parquet, with parameters, and returns its stats', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: QID });
    athena.on(GetQueryExecutionCommand).resolvesOnce(execution('RUNNING')).resolves(SUCCEEDED);

    const stats = await makeEngine().unload(
      'SELECT dt, user_key FROM events WHERE dt = CAST(? AS DATE) AND org = ?;\n',
      ['2026-11-20', "Acme's"],
      'rollups/daily/dt=2026-11-20/gen=000001-ab12cd34/',
    );

    expect(startInputs()).toStrictEqual([
      {
        QueryString:
          "UNLOAD (SELECT dt, user_key FROM events WHERE dt = CAST(? AS DATE) AND org = ?) TO 's3://acme-lake/cclake/rollups/daily/dt=2026-11-20/gen=000001-ab12cd34/' WITH (format = 'PARQUET', compression = 'ZSTD')",
        QueryExecutionContext: { Database: 'analytics' },
        WorkGroup: 'cclake',
        ClientRequestToken: expect.any(String),
        ExecutionParameters: ["'2026-11-20'", "'Acme''s'"],
      },
    ]);
    expect(stats).toEqual({ engine: 'athena', queryId: QID, bytesScanned: 123_456, durationMs: 789 });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
    expect(sleeps).toEqual([100]);
    expect(logs).toEqual([
      {
        queryId: QID,
        bytesScanned: 123_456,
        durationMs: 789,
        state: 'SUCCEEDED',
        firstLine:
          "UNLOAD (SELECT dt, user_key FROM events WHERE dt = CAST(? AS DATE) AND org = ?) TO 's3://acme-lake/cclake/rollups/daily/dt=2026-11-20/gen=000001-ab12cd34/' WITH (format = 'PARQUET', compression = 'ZSTD')".slice(
            0,
            157,
          ) + '...',
      },
    ]);
  });

  it('rejects a location that is not a lake key prefix ending in /', async () => {
    const engine = makeEngine();
    for (const location of ['rollups/daily', '/rollups/daily/', 's3://other/rollups/']) {
      await expect(engine.unload('SELECT 1', [], location), location).rejects.toThrow(/invalid unload location .*ending in '\/'/);
    }
    expect(athena.calls()).toHaveLength(0);
  });
});
