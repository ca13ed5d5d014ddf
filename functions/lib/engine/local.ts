/**
 * The local query engine: DuckDB over a lake folder, behind the same port as Athena. A session
 * sees the tables the local catalog lists (as Athena sees Glue's), the Trino functions our SQL uses
 * (compat macros), and the repeatable views of `sql/views/`.
 *
 * Views are bound lazily: before each statement the session creates the relations the statement
 * names and what those read, in dependency order, and nothing else. So `SELECT count(*) FROM events`
 * never lists the raw zone, and one unreadable raw object cannot stop a query on curated data.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/schema';
import { readSqlTree, type SqlTree } from '../sql/files';
import type { LocalObjectStore } from '../store/local';
import { DuckDBEngine, sqlString } from './duckdb';
import { lakeRelations, type LakeRelation, type ViewSetup } from './lake-views';
import { referencedNames } from '../sql/references';
import type { EngineResult, QueryEngine, QueryStats, SqlValue } from './port';
import { installTrinoCompat } from './trino-compat';

export class LocalQueryEngine implements QueryEngine {
  readonly kind = 'duckdb' as const;
  /** What the session has bound so far (views, raw objects left out of events_raw). */
  setup: ViewSetup = { views: [], skippedRawObjects: [] };
  /** Every relation the session can bind, by lower-cased name: the lake's, then `sql/views/` (which may replace one). */
  private readonly relations = new Map<string, LakeRelation>();
  /** Relation names bound since the last refresh. */
  private readonly bound = new Set<string>();

  private constructor(
    readonly duck: DuckDBEngine,
    private readonly store: LocalObjectStore,
    config: Config,
    sql: SqlTree,
  ) {
    for (const r of lakeRelations(duck, store, config, this.setup)) this.relations.set(r.name.toLowerCase(), r);
    for (const v of sql.views) {
      const refs = referencedNames(v.sql).names;
      refs.delete(v.view.toLowerCase());
      this.relations.set(v.view.toLowerCase(), {
        name: v.view,
        deps: [...refs].filter((n) => this.relations.has(n)),
        create: async () => {
          try {
            await duck.run(v.sql);
          } catch (err) {
            throw new Error(`${v.file}: ${(err as Error).message.split('\n')[0]}`);
          }
          if (!this.setup.views.includes(v.view)) this.setup.views.push(v.view);
        },
      });
    }
  }

  static async open(store: LocalObjectStore, config: Config, sql: SqlTree = readSqlTree()): Promise<LocalQueryEngine> {
    const duck = await DuckDBEngine.open();
    try {
      await installTrinoCompat(duck);
      return new LocalQueryEngine(duck, store, config, sql);
    } catch (err) {
      duck.close();
      throw err;
    }
  }

  /** The names of every view a session offers (bound or not). */
  get viewNames(): string[] {
    return [...this.relations.values()].map((r) => r.name);
  }

  /**
   * After a commit moved partitions: every view is bound again, from the catalog as it is now,
   * the next time a statement reads it.
   */
  async refresh(): Promise<ViewSetup> {
    this.bound.clear();
    return this.setup;
  }

  /** Binds every view now (what a session offered before views were lazy). */
  async bindAll(): Promise<ViewSetup> {
    await this.bind([...this.relations.keys()]);
    return this.setup;
  }

  /** Binds the views `sql` reads (all of them when it lists the catalog), with what they read, in order. */
  async bindFor(sql: string): Promise<void> {
    const refs = referencedNames(sql);
    await this.bind(refs.catalog ? [...this.relations.keys()] : [...refs.names].filter((n) => this.relations.has(n)));
  }

  private async bind(names: string[]): Promise<void> {
    const visiting = new Set<string>();
    const visit = async (name: string): Promise<void> => {
      if (this.bound.has(name) || visiting.has(name)) return;
      visiting.add(name);
      const r = this.relations.get(name)!;
      for (const d of r.deps) await visit(d);
      await r.create();
      this.bound.add(name);
    };
    for (const n of names) await visit(n);
  }

  async query(sql: string, params: SqlValue[] = []): Promise<EngineResult> {
    const started = performance.now();
    await this.bindFor(sql);
    const result = await this.duck.query(sql, params);
    return { ...result, stats: this.stats(started) };
  }

  async unload(select: string, params: SqlValue[], location: string): Promise<QueryStats> {
    if (!location.endsWith('/')) throw new Error(`unload location must end in '/': ${location}`);
    const started = performance.now();
    await this.bindFor(select);
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
