/**
 * The local query engine: DuckDB over a lake folder, behind the same port as Athena. A session
 * sees the tables the local catalog lists (as Athena sees Glue's), the Trino functions our SQL uses
 * (compat macros), and the repeatable views of `sql/views/`, applied in order.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/schema';
import { readSqlTree, type SqlTree } from '../sql/files';
import type { LocalObjectStore } from '../store/local';
import { DuckDBEngine, sqlString } from './duckdb';
import { registerLakeViews, type ViewSetup } from './lake-views';
import type { EngineResult, QueryEngine, QueryStats, SqlValue } from './port';
import { installTrinoCompat } from './trino-compat';

export class LocalQueryEngine implements QueryEngine {
  readonly kind = 'duckdb' as const;
  /** What the last refresh set up (views, raw objects left out of events_raw). */
  setup: ViewSetup = { views: [], skippedRawObjects: [] };

  private constructor(
    readonly duck: DuckDBEngine,
    private readonly store: LocalObjectStore,
    private readonly config: Config,
    private readonly sql: SqlTree,
  ) {}

  static async open(store: LocalObjectStore, config: Config, sql: SqlTree = readSqlTree()): Promise<LocalQueryEngine> {
    const duck = await DuckDBEngine.open();
    const engine = new LocalQueryEngine(duck, store, config, sql);
    try {
      await installTrinoCompat(duck);
      await engine.refresh();
    } catch (err) {
      duck.close();
      throw err;
    }
    return engine;
  }

  /** Re-reads the catalog (after a commit moved partitions) and re-applies the views. */
  async refresh(): Promise<ViewSetup> {
    const setup = (this.setup = await registerLakeViews(this.duck, this.store, this.config));
    for (const v of this.sql.views) {
      try {
        await this.duck.run(v.sql);
      } catch (err) {
        throw new Error(`${v.file}: ${(err as Error).message.split('\n')[0]}`);
      }
      setup.views.push(v.view);
    }
    return setup;
  }

  async query(sql: string, params: SqlValue[] = []): Promise<EngineResult> {
    const started = performance.now();
    const result = await this.duck.query(sql, params);
    return { ...result, stats: this.stats(started) };
  }

  async unload(select: string, params: SqlValue[], location: string): Promise<QueryStats> {
    if (!location.endsWith('/')) throw new Error(`unload location must end in '/': ${location}`);
    const started = performance.now();
    const dir = mkdtempSync(path.join(tmpdir(), 'cclake-unload-'));
    try {
      const file = path.join(dir, 'part-00000.parquet');
      const copied = await this.duck.query(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`, params);
      // Verify before anything is visible: the file's footer reads back with the rows COPY reported.
      const written = Number(copied.rows[0]?.Count ?? 0);
      const footer = Number((await this.duck.query(`SELECT count(*) AS n FROM read_parquet(${sqlString(file)})`)).rows[0]!.n);
      if (footer !== written) throw new Error(`unload to ${location}: wrote ${written} rows but the file reads back ${footer}`);
      for (const f of readdirSync(dir)) await this.store.putFile(`${location}${f}`, path.join(dir, f));
      return { ...this.stats(started), rowsWritten: written };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.duck.close();
  }

  private stats(started: number): QueryStats {
    return { engine: 'duckdb', queryId: null, bytesScanned: null, durationMs: Math.round(performance.now() - started) };
  }
}
