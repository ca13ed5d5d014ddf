/**
 * The configuration file's shape (`cclake.config.yaml` or `.json`), validated with zod. Every
 * section has a default, so an empty file — or no file — is the embedded local default: a lake in
 * `./lake`, DuckDB as the engine, the HTML dashboard as the BI publisher.
 */
import { z } from 'zod';
import { isIsoDate } from '../util/dates';

const isoDate = z.string().refine(isIsoDate, 'expected a real date YYYY-MM-DD');
const keyPrefix = z.string().regex(/^([A-Za-z0-9=_.-]+\/)*$/, "expected a key prefix such as 'raw/' (segments ending in '/', or empty)");

const isValidTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const LakeSchema = z.union([
  z.strictObject({ local: z.strictObject({ path: z.string().min(1) }) }),
  z.strictObject({
    s3: z.strictObject({
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
      prefix: keyPrefix.default(''),
      region: z.string().optional(),
      /** Objects larger than this go up as multipart uploads. */
      multipartThresholdMiB: z.number().int().min(5).max(5120).default(64),
      /** Object Lock for the evidence reports (reports/evidence/). */
      objectLock: z.strictObject({ mode: z.literal('COMPLIANCE'), retentionDays: z.number().int().positive() }).optional(),
    }),
  }),
]);

export const PriceRowSchema = z
  .strictObject({
    /** Glob over the model id; `*` matches any run of characters. `*claude-sonnet-4*` matches Bedrock profile ids too. */
    model: z.string().min(1),
    validFrom: isoDate,
    /** Exclusive; omitted means open-ended. */
    validTo: isoDate.optional(),
    /** USD per million tokens. */
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cacheRead: z.number().nonnegative(),
    cacheCreation: z.number().nonnegative(),
    /**
     * The long-context tier's prices (requests above LONG_CONTEXT_THRESHOLD_TOKENS input-side
     * tokens); omitted: the row's prices apply to every request (a flat negotiated rate).
     */
    long: z
      .strictObject({
        input: z.number().nonnegative(),
        output: z.number().nonnegative(),
        cacheRead: z.number().nonnegative(),
        cacheCreation: z.number().nonnegative(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.validTo !== undefined && r.validTo <= r.validFrom) {
      ctx.addIssue({ code: 'custom', message: `validTo must be after validFrom (${r.validFrom})`, path: ['validTo'], input: r.validTo });
    }
  });

/** A negotiated discount on the book's list prices: percent off, per provider and model-version glob, for a date range. */
export const DiscountSchema = z
  .strictObject({
    provider: z.enum(['anthropic', 'bedrock']).optional(),
    /** Glob over the model version as the book names it (e.g. `claude-opus-4-*`); default every model. */
    model: z.string().min(1).default('*'),
    validFrom: isoDate,
    /** Exclusive; omitted means open-ended. */
    validTo: isoDate.optional(),
    percent: z.number().gt(0).max(100),
  })
  .superRefine((r, ctx) => {
    if (r.validTo !== undefined && r.validTo <= r.validFrom) {
      ctx.addIssue({ code: 'custom', message: `validTo must be after validFrom (${r.validFrom})`, path: ['validTo'], input: r.validTo });
    }
  });

export const ConfigSchema = z.strictObject({
  lake: LakeSchema.default({ local: { path: './lake' } }),
  raw: z
    .strictObject({
      prefix: keyPrefix.default('raw/'),
      errorPrefix: keyPrefix.default('raw-errors/'),
      /** `cclake`: CONTRACTS section 2 records; `bedrock-guidance`: the AWS sample's `metrics` table. */
      profile: z.enum(['cclake', 'bedrock-guidance']).default('cclake'),
      /** Delivery stream name used in raw object names written by `ingest` and `generate`. */
      streamName: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/)
        .default('cclake-telemetry'),
      /**
       * Several raw zones in one lake, oldest first (e.g. the AWS guidance's `data/` before a
       * cut-over, cclake's own `raw/` after): each source holds the rows whose event date is before
       * its `until` (exclusive, reporting time zone) and on or after the previous source's; the
       * last has no `until`. Omitted: the one source `{profile, prefix}`. See `rawSourcesOf`.
       */
      sources: z
        .array(z.strictObject({ profile: z.enum(['cclake', 'bedrock-guidance']), prefix: keyPrefix, until: isoDate.optional() }))
        .min(1)
        .optional(),
    })
    .superRefine((raw, ctx) => {
      const list = raw.sources ?? [];
      list.forEach((s, i) => {
        const last = i === list.length - 1;
        if (!last && s.until === undefined)
          ctx.addIssue({ code: 'custom', message: 'every source but the last needs until (its cut-over date)', path: ['sources', i, 'until'], input: s });
        if (last && s.until !== undefined)
          ctx.addIssue({
            code: 'custom',
            message: 'the last source takes everything from the previous cut-over on: no until',
            path: ['sources', i, 'until'],
            input: s.until,
          });
        const prev = list[i - 1]?.until;
        if (prev !== undefined && s.until !== undefined && s.until <= prev)
          ctx.addIssue({ code: 'custom', message: `until must be after the previous source's (${prev})`, path: ['sources', i, 'until'], input: s.until });
        // The catalog keeps one raw table per profile (events_raw, metrics: catalog/tables.ts rawTables).
        if (list.findIndex((o) => o.profile === s.profile) < i)
          ctx.addIssue({
            code: 'custom',
            message: `a second source with profile ${s.profile}: the catalog keeps one raw table per profile`,
            path: ['sources', i, 'profile'],
            input: s.profile,
          });
        const clash = list.findIndex((o, j) => j !== i && (o.prefix.startsWith(s.prefix) || s.prefix.startsWith(o.prefix)));
        if (clash > i)
          ctx.addIssue({
            code: 'custom',
            message: `prefixes overlap: ${JSON.stringify(s.prefix)} and ${JSON.stringify(list[clash]!.prefix)}`,
            path: ['sources', clash, 'prefix'],
            input: list[clash]!.prefix,
          });
      });
    })
    .prefault({}),
  ingest: z
    .strictObject({
      /** Content attributes (prompts, responses, tool input) never reach the lake unless this is true. */
      keepContentAttributes: z.boolean().default(false),
    })
    .prefault({}),
  orgDirectory: z
    .strictObject({
      /** Lake key of the CSV (user_email,user_id,team,department,cost_center,valid_from,valid_to). */
      key: z.string().default('reference/org-directory.csv'),
    })
    .prefault({}),
  /**
   * Prices: the list-price book shipped with cclake (data/prices/list-prices.csv) unless `book: none`,
   * with negotiated rates on top: percentage `discounts` on book prices, and override `rows` that
   * replace the book for the model ids their glob matches (functions/lib/prices/book.ts).
   */
  prices: z
    .strictObject({
      book: z.enum(['default', 'none']).default('default'),
      /** Names the override rows and discounts in exports (the book names its own version). */
      version: z.string().min(1).default('negotiated'),
      rows: z.array(PriceRowSchema).default([]),
      discounts: z.array(DiscountSchema).default([]),
      /** `prices check`: a day and model whose priced cost differs from the reported cost by more than this share. */
      driftThreshold: z.number().min(0).default(0.05),
    })
    .prefault({}),
  roi: z
    .strictObject({
      version: z.string().min(1).default('v1'),
      loadedHourlyRateUsd: z.number().positive().default(100),
      hoursSaved: z
        .strictObject({
          perAcceptedEdit: z.number().nonnegative().default(0.05),
          perCommit: z.number().nonnegative().default(0.25),
          perPullRequest: z.number().nonnegative().default(1),
          perLineAdded: z.number().nonnegative().default(0),
          perActiveHour: z.number().nonnegative().default(0),
        })
        .prefault({}),
    })
    .prefault({}),
  compliance: z
    .strictObject({
      /** Globs over model ids. */
      approvedModels: z.array(z.string().min(1)).default(['*claude-sonnet-4*', '*claude-opus-4*', '*claude-haiku-4*', '*claude-3-5-haiku*']),
      allowedResidencyPrefixes: z.array(z.enum(['us.', 'eu.', 'apac.', 'global.'])).default(['us.', 'global.']),
      allowedRegions: z.array(z.string()).default([]),
      mcpAllowlist: z.array(z.string()).default([]),
      /** Share of cost that must carry a cost center, 0..1. */
      attributionThreshold: z.number().min(0).max(1).default(0.95),
    })
    .prefault({}),
  reporting: z
    .strictObject({
      timeZone: z.string().refine(isValidTimeZone, 'expected an IANA time zone such as UTC or Europe/Berlin').default('UTC'),
    })
    .prefault({}),
  /**
   * Privacy (README "Privacy"): `named` keeps identities as they arrive; `pseudonymous` stores a keyed
   * pseudonym (HMAC-SHA256 of the CONTRACTS section 3 identity) in curated data and everything
   * after it, and the identities themselves only in the re-identification table (`reidentify/`).
   * The key is read from `key`, never written to the lake; changing it changes every pseudonym.
   */
  privacy: z
    .strictObject({
      mode: z.enum(['named', 'pseudonymous']).default('named'),
      /**
       * k: the leadership views (`leadership_*`, what the dashboards read) merge a team of fewer than k
       * people on a row's day or month into 'other teams' (README, Privacy). 1 turns it off.
       */
      minGroupSize: z.number().int().min(1).default(5),
      /**
       * Where the key is: `source` env (an environment variable), file (a file, surrounding white
       * space ignored), ssm (a Parameter Store SecureString, decrypted) or secretsmanager (a secret's
       * SecretString, read through Parameter Store's /aws/reference/secretsmanager/); `name` is the
       * variable, the file's path, the parameter name or the secret's name. At least 16 bytes.
       */
      key: z
        .strictObject({ source: z.enum(['env', 'file', 'ssm', 'secretsmanager']), name: z.string().min(1) })
        .superRefine((k, ctx) => {
          const ok =
            k.source === 'env'
              ? /^[A-Za-z_][A-Za-z0-9_]*$/.test(k.name)
              : k.source === 'ssm'
                ? /^[A-Za-z0-9_.\-/]{1,1011}$/.test(k.name)
                : k.source === 'secretsmanager'
                  ? /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(k.name)
                  : true;
          if (!ok) ctx.addIssue({ code: 'custom', message: `not a valid ${k.source} name`, path: ['name'], input: k.name });
        })
        .optional(),
    })
    .superRefine((p, ctx) => {
      if (p.mode === 'pseudonymous' && !p.key)
        ctx.addIssue({ code: 'custom', message: 'pseudonymous mode needs key (source env, file, ssm or secretsmanager)', path: ['key'], input: p });
    })
    .prefault({}),
  retention: z
    .strictObject({
      /**
       * Raw objects (they hold identities as they arrived) older than this (arrival hour) are deleted:
       * by the partitions job; in privacy mode also by compaction, once it has finished them; on AWS
       * also by the bucket's lifecycle rule (serverless.yml param rawDays, keep it equal).
       */
      rawDays: z.number().int().positive().default(90),
      curatedDays: z.number().int().positive().default(730),
      quarantineDays: z.number().int().positive().default(30),
      /**
       * A replaced generation (curated events, rollups, anomalies) stays readable this long after its
       * commit; then it, and any generation never committed (a run that died), is deleted (generations/).
       */
      generationGraceMinutes: z.number().int().nonnegative().default(60),
    })
    .prefault({}),
  compaction: z
    .strictObject({
      /** Curated Parquet files are cut near this size (zstd). */
      targetFileSizeMiB: z.number().int().min(1).max(4096).default(256),
      /** Raw hours re-listed each run, for objects Firehose delivers late into an older hour prefix. */
      lookbackHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 14)
        .default(48),
      /**
       * The lake's lease lock (functions/lib/lock/, taken by compaction, partitions, rollup and anomalies;
       * the exports' lock too) expires after this long without renewal (then another run may take over).
       */
      leaseMinutes: z
        .number()
        .int()
        .min(1)
        .max(24 * 60)
        .default(20),
      /** DuckDB's memory limit; beyond it sorts and joins spill to the temp directory. */
      memoryLimitMiB: z.number().int().min(64).default(512),
    })
    .prefault({}),
  /** Publishing (issue 6): the local dashboard and the report snapshots, on either publisher. */
  publish: z
    .strictObject({
      /** Lake prefix of the local HTML dashboards (`<prefix><dashboard>/index.html`). */
      dashboardsPrefix: keyPrefix.default('dashboards/'),
      snapshot: z
        .strictObject({
          /** Dashboards snapshotted as PDF on every run. */
          pdf: z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a dashboard name')).default(['executive']),
          /** Table visuals exported as CSV, as `<dashboard>/<VisualId>`. */
          csv: z.array(z.string().regex(/^[a-z][a-z0-9_-]*\/[A-Za-z0-9_-]+$/, 'expected <dashboard>/<VisualId>')).default([]),
          /** Lake prefix the snapshots are written under (`<prefix><YYYY-MM-DD>/...`). */
          prefix: keyPrefix.default('reports/snapshots/'),
        })
        .prefault({}),
      /** Headless Chromium for the local PDF snapshot (Debian's `chromium` package). */
      chromiumPath: z.string().min(1).default('/usr/bin/chromium'),
    })
    .prefault({}),
  /** The monthly finance export (FOCUS 1.2-shaped chargeback): see README "Chargeback and evidence". */
  chargeback: z
    .strictObject({
      /** The price table is in US dollars, so is every export. */
      currency: z.literal('USD').default('USD'),
      /** What happens to cost without a cost center: shared by direct cost, evenly, or left unallocated. */
      allocation: z.enum(['proportional', 'even', 'none']).default('proportional'),
      /** FOCUS BillingAccountId/Name: the account the provider bills (e.g. the AWS payer account id). */
      billingAccountId: z.string().min(1).default('unconfigured'),
      billingAccountName: z.string().min(1).default('Unconfigured billing account'),
      /** FOCUS ProviderName: `auto` reads it from each model id (Bedrock ids: AWS; Vertex ids: Google Cloud; else Anthropic). */
      provider: z.enum(['auto', 'aws', 'anthropic', 'google']).default('auto'),
      /** FOCUS InvoiceIssuerName; default: the provider (set it when a reseller or marketplace invoices). */
      invoiceIssuer: z.string().min(1).optional(),
      /** The scheduled run also re-checks this many closed months before the one it closes, for late data. */
      revisitMonths: z.number().int().min(0).max(12).default(2),
    })
    .prefault({}),
  /** The compliance evidence report (CONTRACTS section 3 controls); the schedule is serverless.yml's evidenceSchedule. */
  evidence: z
    .strictObject({
      /** The scheduled run reports on the this many days ending yesterday (reporting time zone). */
      periodDays: z.number().int().min(1).max(366).default(7),
      /** Record ids shown per control and team (ids only, never content). */
      examplesPerControl: z.number().int().min(0).max(100).default(5),
    })
    .prefault({}),
  /** Anomaly detection and alert delivery (functions/lib/anomalies, README "Anomalies and alerts"). */
  anomalies: z
    .strictObject({
      /** Trailing days a baseline is taken from (the day itself excluded). */
      baselineDays: z.number().int().min(7).max(90).default(28),
      /** Baseline samples needed before an entity can alert; fewer means "no baseline yet". */
      minBaselineDays: z.number().int().min(2).max(60).default(5),
      /** Public holidays: never baseline samples, and judged against a working day's baseline. */
      holidays: z.array(isoDate).default([]),
      /** Detectors switched off. */
      disabled: z
        .array(
          z.enum([
            'cost_spike',
            'token_spike',
            'error_rate',
            'latency_p95',
            'unusual_hours',
            'new_model',
            'new_mcp_server',
            'compliance_violations',
            'budget',
            'budget_forecast',
            'bill_variance',
          ]),
        )
        .default([]),
      /** Cost and token spikes per user, team and cost center. */
      spikes: z
        .strictObject({
          /** Observed must be over this many times the baseline median... */
          multiplier: z.number().gt(1).default(3),
          /** ...and its robust z-score (0.6745 x (x - median) / MAD) at least this... */
          minScore: z.number().nonnegative().default(3.5),
          /** ...and the day's cost (USD) at least this, per entity type. */
          minCostUsd: z
            .strictObject({
              user: z.number().nonnegative().default(50),
              team: z.number().nonnegative().default(200),
              costCenter: z.number().nonnegative().default(200),
            })
            .prefault({}),
          /** Token spikes: the day's tokens at least this, per entity type. */
          minTokens: z
            .strictObject({
              user: z.number().nonnegative().default(100_000_000),
              team: z.number().nonnegative().default(400_000_000),
              costCenter: z.number().nonnegative().default(400_000_000),
            })
            .prefault({}),
        })
        .prefault({}),
      /** Error-rate and p95-latency degradation per model. */
      apiHealth: z
        .strictObject({
          /** Requests + errors a day needs to be judged (and to be a baseline sample). */
          minRequests: z.number().int().positive().default(200),
          errorRateMultiplier: z.number().gt(1).default(3),
          /** Absolute rise of the error rate over the baseline, 0..1. */
          minErrorRateIncrease: z.number().min(0).max(1).default(0.05),
          latencyMultiplier: z.number().gt(1).default(1.5),
          minLatencyIncreaseMs: z.number().nonnegative().default(2000),
        })
        .prefault({}),
      /** Use outside a developer's usual hours (UTC hours of api_request events). */
      unusualHours: z
        .strictObject({
          /** Active days in the baseline window before a developer's hours are known. */
          minActiveDays: z.number().int().positive().default(8),
          /** An hour is unusual when every hour the developer worked in the window is at least this far (circular). */
          minDistanceHours: z.number().int().min(1).max(12).default(4),
          /** Requests in unusual hours that make an alert. */
          minRequests: z.number().int().positive().default(10),
        })
        .prefault({}),
      /** A model or MCP server never seen before for a team. */
      newResources: z
        .strictObject({
          /** How far back "before" reaches. */
          lookbackDays: z.number().int().min(7).max(366).default(90),
          /** Days the team must have used Claude Code in that window first (a new team is not an alert). */
          minHistoryDays: z.number().int().positive().default(14),
          /** Uses in a day (records naming the model, MCP calls) for a resource to count as used that day. */
          minUses: z.number().int().positive().default(3),
        })
        .prefault({}),
      /** Clusters of compliance violations per control and team (compliance_daily). */
      compliance: z
        .strictObject({
          /** The day's violation share (violations / evaluated) over this many times the median share... */
          multiplier: z.number().gt(1).default(3),
          /** ...and at least this much above it (0..1)... */
          minShareIncrease: z.number().min(0).max(1).default(0.05),
          /** ...with at least this many violations... */
          minViolations: z.number().int().positive().default(10),
          /** ...and the share's robust z-score at least this (as for spikes). */
          minScore: z.number().nonnegative().default(3.5),
        })
        .prefault({}),
      delivery: z
        .strictObject({
          /** SNS topic for alerts; without one, alerts go to stdout and alerts/dt=<day>/alerts.json in the lake. */
          snsTopicArn: z
            .string()
            .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'expected an SNS topic ARN')
            .optional(),
          /** More new anomalies than this in one run are sent as one digest message. */
          digestOver: z.number().int().nonnegative().default(20),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Monthly budgets (USD) and the shares that alert (functions/lib/anomalies/budgets.ts). */
  budgets: z
    .strictObject({
      thresholds: z.array(z.number().gt(0).max(10)).min(1).default([0.8, 1]),
      costCenters: z.array(z.strictObject({ costCenter: z.string().min(1), monthlyUsd: z.number().positive() })).default([]),
      teams: z.array(z.strictObject({ team: z.string().min(1), monthlyUsd: z.number().positive() })).default([]),
      /** Forecast alerts start on this day of the month (a run rate of one or two days is noise). */
      forecastFromDay: z.number().int().min(1).max(28).default(7),
    })
    .superRefine((b, ctx) => {
      // One budget per team and per cost center: the budgets seed is joined by name.
      for (const [list, field] of [
        [b.teams.map((t) => t.team), 'teams'],
        [b.costCenters.map((c) => c.costCenter), 'costCenters'],
      ] as const) {
        list.forEach((name, i) => {
          if (list.indexOf(name) < i) ctx.addIssue({ code: 'custom', message: `${name} has a budget already`, path: [field, i], input: name });
        });
      }
    })
    .prefault({}),
  /** Imported bills (`cclake import bill`, functions/lib/jobs/import-bill.ts) and their reconciliation with the telemetry. */
  bills: z
    .strictObject({
      /** The account of Anthropic cost report lines (the report names no organization): e.g. the organization id. */
      anthropicAccount: z.string().min(1).default('anthropic'),
      /** `bill_variance` alerts when |billed - priced| / priced of a month, provider, account and model passes this share. */
      varianceThreshold: z.number().gt(0).default(0.05),
      /**
       * Where the bills land on S3, for the scheduled import (functions/import-bill, jobs/import-bill-sources.ts):
       * `cur2`/`focus` the prefix of an AWS Data Exports export (its `<export-name>/data/` and
       * `metadata/` folders below it), `anthropic` a prefix of Anthropic cost report JSON objects.
       */
      sources: z
        .array(
          z.strictObject({
            format: z.enum(['cur2', 'focus', 'anthropic']),
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
            prefix: keyPrefix.default(''),
            /** The bucket's region when it is not the lake's. */
            region: z.string().min(1).optional(),
          }),
        )
        .default([])
        .superRefine((sources, ctx) => {
          const seen = new Map<string, number>();
          sources.forEach((s, i) => {
            const where = `s3://${s.bucket}/${s.prefix}`;
            const other = [...seen].find(([w]) => w.startsWith(where) || where.startsWith(w));
            if (other)
              ctx.addIssue({
                code: 'custom',
                message: `${where} overlaps source ${other[1]} (${other[0]}): each object belongs to one source`,
                path: [i, 'prefix'],
                input: s.prefix,
              });
            seen.set(where, i);
          });
        }),
    })
    .prefault({}),
  engine: z.enum(['duckdb', 'athena']).default('duckdb'),
  publisher: z.enum(['html', 'quicksight']).default('html'),
  aws: z
    .strictObject({
      region: z.string().optional(),
      glueDatabase: z
        .string()
        .regex(/^[a-z0-9_]{1,255}$/, 'expected a Glue database name (lower case, digits, _)')
        .default('cclake'),
      athena: z
        .strictObject({
          workgroup: z.string().default('cclake'),
          outputLocation: z
            .string()
            .regex(/^s3:\/\/[^/]+\/.*$/, 'expected s3://bucket/prefix/')
            .optional(),
        })
        .prefault({}),
      quicksight: z
        .strictObject({
          accountId: z
            .string()
            .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
            .optional(),
          namespace: z.string().default('default'),
          /** Users or groups (ARNs) who may view the dashboards. */
          principals: z.array(z.string().startsWith('arn:')).default([]),
          /** Users or groups (ARNs) who own the data source, datasets and dashboards (edit, share, delete). */
          owners: z.array(z.string().startsWith('arn:')).default([]),
          /** Every QuickSight id cclake creates starts with this (the publish role is scoped to it). */
          resourcePrefix: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, - and _')
            .default('cclake-'),
          /** Datasets (view names) queried live through Athena instead of imported into SPICE. */
          directQuery: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a view name')).default([]),
          /** SPICE refreshes a dataset may start per 24 hours: 32 on Enterprise edition, 8 on Standard. */
          spiceRefreshesPer24h: z.number().int().min(1).max(32).default(32),
          /**
           * Row-level security: each rule lets a QuickSight group (or user) see the rows whose `column`
           * is one of `values` (no values: every row). Applied to every dataset that has the column.
           */
          rowLevelSecurity: z
            .strictObject({
              column: z.enum(['team', 'cost_center']),
              rules: z
                .array(
                  z
                    .strictObject({ group: z.string().min(1).optional(), user: z.string().min(1).optional(), values: z.array(z.string().min(1)).default([]) })
                    .refine((r) => (r.group === undefined) !== (r.user === undefined), 'a rule names exactly one of group or user'),
                )
                .min(1),
            })
            .optional(),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type PriceRow = z.output<typeof PriceRowSchema>;

/** One raw zone of the lake and the event dates it is read for: [from, until), either open. */
export interface RawSourceConfig {
  profile: 'cclake' | 'bedrock-guidance';
  prefix: string;
  from: string | null;
  until: string | null;
}

/** The lake's raw sources, oldest first: `raw.sources`, else the single `{profile, prefix}`. */
export function rawSourcesOf(config: Config): RawSourceConfig[] {
  const list = config.raw.sources ?? [{ profile: config.raw.profile, prefix: config.raw.prefix }];
  return list.map((s, i) => ({ profile: s.profile, prefix: s.prefix, from: list[i - 1]?.until ?? null, until: s.until ?? null }));
}
