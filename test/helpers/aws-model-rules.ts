/**
 * Rules the AWS models state only in prose (`documentation` fields), as named checks the validator
 * runs on every structure of the shape, wherever it is nested. Each rule quotes its source so a
 * model update that changes the wording is easy to follow. Rules that relate two requests (a
 * dataset and the rules dataset it points at) read the session: what earlier requests of the same
 * test created.
 */

export interface ModelSession {
  /** QuickSight datasets created or updated so far: their output column names and UseAs. */
  dataSetColumns: Map<string, { columns: Set<string>; useAs: string | undefined }>;
}

export interface RuleFinding {
  /** The offending member, relative to the structure the rule checks (omit for the structure itself). */
  at?: string;
  message: string;
}

export interface ProseRule {
  id: string;
  service: string;
  /** The structure shape the rule applies to. */
  shape: string;
  /** Where the model says it. */
  source: string;
  check(value: Record<string, unknown>, ctx: { operation: string; session: ModelSession }): RuleFinding[];
}

type Obj = Record<string, unknown>;
const list = (x: unknown): Obj[] => (Array.isArray(x) ? (x as Obj[]) : []);

export const PROSE_RULES: ProseRule[] = [
  {
    id: 'quicksight-snapshot-file-sheet-selections',
    service: 'quicksight',
    shape: 'SnapshotFile',
    source:
      'SnapshotFile.SheetSelections: "This structure can hold a maximum of 5 CSV configurations, 5 Excel configurations, or 1 configuration for PDF."; ' +
      'SnapshotFileSheetSelection.SelectionScope: "ALL_VISUALS … is required if the snapshot is a PDF. SELECTED_VISUALS … is required if the snapshot is a CSV or Excel workbook."; ' +
      'SnapshotFileSheetSelection.VisualIds: "This value is required if you are generating a CSV or Excel workbook. This value supports a maximum of 1 visual ID for CSV and 5 visual IDs across up to 5 sheet selections for Excel."',
    check(file) {
      const found: RuleFinding[] = [];
      const format = file.FormatType;
      const selections = list(file.SheetSelections);
      if (format === 'PDF' && selections.length !== 1) {
        found.push({
          at: 'SheetSelections',
          message: `a PDF snapshot file takes exactly 1 sheet selection, got ${selections.length} (make one PDF file per sheet)`,
        });
      }
      if ((format === 'CSV' || format === 'EXCEL') && selections.length > 5) {
        found.push({ at: 'SheetSelections', message: `a ${format} snapshot file takes at most 5 sheet selections, got ${selections.length}` });
      }
      let excelVisuals = 0;
      selections.forEach((sel, i) => {
        const at = `SheetSelections[${i}]`;
        const visuals = Array.isArray(sel.VisualIds) ? sel.VisualIds.length : 0;
        if (format === 'PDF' && sel.SelectionScope !== 'ALL_VISUALS') {
          found.push({ at: `${at}.SelectionScope`, message: `a PDF snapshot needs SelectionScope ALL_VISUALS, got ${JSON.stringify(sel.SelectionScope)}` });
        }
        if (format === 'CSV' || format === 'EXCEL') {
          if (sel.SelectionScope !== 'SELECTED_VISUALS') {
            found.push({
              at: `${at}.SelectionScope`,
              message: `a ${format} snapshot needs SelectionScope SELECTED_VISUALS, got ${JSON.stringify(sel.SelectionScope)}`,
            });
          }
          if (visuals === 0) found.push({ at: `${at}.VisualIds`, message: `a ${format} snapshot needs VisualIds` });
        }
        if (format === 'CSV' && visuals > 1)
          found.push({ at: `${at}.VisualIds`, message: `a CSV snapshot takes at most 1 visual ID per sheet selection, got ${visuals}` });
        excelVisuals += visuals;
      });
      if (format === 'EXCEL' && excelVisuals > 5) {
        found.push({ at: 'SheetSelections', message: `an Excel snapshot takes at most 5 visual IDs across its sheet selections, got ${excelVisuals}` });
      }
      return found;
    },
  },
  {
    id: 'quicksight-snapshot-file-groups-max-6',
    service: 'quicksight',
    shape: 'SnapshotConfiguration',
    source: 'SnapshotConfiguration.FileGroups: "This list can hold a maximum of 6 FileGroup configurations." (the shape itself allows 7)',
    check(config) {
      const groups = list(config.FileGroups).length;
      return groups > 6 ? [{ at: 'FileGroups', message: `a snapshot job takes at most 6 file groups, got ${groups}` }] : [];
    },
  },
  {
    id: 'quicksight-rls-format-version',
    service: 'quicksight',
    shape: 'RowLevelPermissionDataSet',
    source:
      'RowLevelPermissionDataSet.FormatVersion: "By default, FormatVersion is VERSION_1. When FormatVersion is VERSION_1, UserName and GroupName are required. ' +
      'When FormatVersion is VERSION_2, UserARN and GroupARN are required, and Namespace must not exist."; RowLevelPermissionDataSet: "The option to deny permissions by setting ' +
      'PermissionPolicy to DENY_ACCESS is not supported for new RLS datasets."; CreateDataSetRequest.UseAs: "RLS_RULES must be specified for RLS permission datasets."',
    check(rls, { session }) {
      const found: RuleFinding[] = [];
      const version = rls.FormatVersion ?? 'VERSION_1';
      if (version === 'VERSION_2' && rls.Namespace !== undefined) {
        found.push({ at: 'Namespace', message: 'must not be set with FormatVersion VERSION_2 (VERSION_2 rules name users and groups by ARN)' });
      }
      if (rls.PermissionPolicy === 'DENY_ACCESS') found.push({ at: 'PermissionPolicy', message: 'DENY_ACCESS is not supported for new RLS datasets' });
      // The rules dataset's columns, when this test created it: the names the format version needs.
      const id = typeof rls.Arn === 'string' ? /:dataset\/(.+)$/.exec(rls.Arn)?.[1] : undefined;
      const rules = id ? session.dataSetColumns.get(id) : undefined;
      if (rules) {
        const [wanted, other] =
          version === 'VERSION_2'
            ? [
                ['UserARN', 'GroupARN'],
                ['UserName', 'GroupName'],
              ]
            : [
                ['UserName', 'GroupName'],
                ['UserARN', 'GroupARN'],
              ];
        const has = (names: string[]) => names.filter((n) => rules.columns.has(n));
        if (has(wanted).length === 0)
          found.push({ at: 'Arn', message: `${version} rules datasets need ${wanted.join('/')} columns; dataset ${id} has ${[...rules.columns].join(', ')}` });
        if (has(other).length > 0)
          found.push({ at: 'Arn', message: `${version} rules datasets take ${wanted.join('/')}, not ${has(other).join('/')} (dataset ${id})` });
        if (rules.useAs !== 'RLS_RULES') found.push({ at: 'Arn', message: `the rules dataset ${id} was not created with UseAs: 'RLS_RULES'` });
      }
      return found;
    },
  },
  {
    id: 'sns-publish-batch',
    service: 'sns',
    shape: 'PublishBatchInput',
    source:
      'PublishBatch: "Publishes up to 10 messages … The maximum allowed individual message size and the maximum total payload size (the sum of the individual lengths ' +
      'of all of the batched messages) are both 256 KB (262,144 bytes)."; PublishBatchRequestEntry.Id: "The Ids of a batch request must be unique within a request. ' +
      'This identifier can have up to 80 characters. The following characters are accepted: alphanumeric characters, hyphens(-), and underscores (_)."',
    check(input) {
      const found: RuleFinding[] = [];
      const entries = list(input.PublishBatchRequestEntries);
      if (entries.length > 10) found.push({ at: 'PublishBatchRequestEntries', message: `a batch takes at most 10 messages, got ${entries.length}` });
      const seen = new Set<unknown>();
      let total = 0;
      entries.forEach((e, i) => {
        if (typeof e.Id === 'string' && !/^[A-Za-z0-9_-]{1,80}$/.test(e.Id)) {
          found.push({ at: `PublishBatchRequestEntries[${i}].Id`, message: `${JSON.stringify(e.Id)} is not 1 to 80 alphanumerics, hyphens and underscores` });
        }
        if (seen.has(e.Id)) found.push({ at: `PublishBatchRequestEntries[${i}].Id`, message: `${JSON.stringify(e.Id)} is not unique in the batch` });
        seen.add(e.Id);
        if (typeof e.Message === 'string') total += Buffer.byteLength(e.Message);
      });
      if (total > 262_144) found.push({ at: 'PublishBatchRequestEntries', message: `the messages total ${total} bytes, more than 262,144` });
      return found;
    },
  },
  ...(['PublishInput', 'PublishBatchRequestEntry'] as const).map(
    (shape): ProseRule => ({
      id: 'sns-message',
      service: 'sns',
      shape,
      source:
        'PublishInput.Message: "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes …)"; "If you set MessageStructure to json, the value of the ' +
        'Message parameter must: be a syntactically valid JSON object; and contain at least a top-level JSON key of \"default\" with a value that is a string."; ' +
        'PublishInput.Subject: "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters long."',
      check(entry) {
        const found: RuleFinding[] = [];
        const message = entry.Message;
        if (typeof message === 'string' && Buffer.byteLength(message) > 262_144)
          found.push({ at: 'Message', message: `has ${Buffer.byteLength(message)} bytes, more than 262,144` });
        if (entry.MessageStructure === 'json' && typeof message === 'string') {
          let parsed: unknown;
          try {
            parsed = JSON.parse(message);
          } catch {
            parsed = undefined;
          }
          const obj = parsed as Obj | undefined;
          if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || typeof obj.default !== 'string') {
            found.push({ at: 'Message', message: 'with MessageStructure json must be a JSON object with a string "default" key' });
          }
        }
        const subject = entry.Subject;
        if (typeof subject === 'string') {
          // eslint-disable-next-line no-control-regex
          if (/[\u0000-\u001F\u007F]/.test(subject)) found.push({ at: 'Subject', message: 'must have no line breaks or control characters' });
          if (subject.length >= 100) found.push({ at: 'Subject', message: `has ${subject.length} characters; it must be less than 100` });
        }
        return found;
      },
    }),
  ),
  ...(['CreateDashboardRequest', 'UpdateDashboardRequest'] as const).map(
    (shape): ProseRule => ({
      id: 'quicksight-dashboard-source',
      service: 'quicksight',
      shape,
      source: `${shape}.Definition: "Either a SourceEntity or a Definition must be provided in order for the request to be valid."`,
      check(input) {
        const given = ['SourceEntity', 'Definition'].filter((k) => input[k] !== undefined);
        return given.length === 1 ? [] : [{ message: `give exactly one of SourceEntity, Definition; got ${given.join(', ') || 'neither'}` }];
      },
    }),
  ),
  {
    id: 'quicksight-unique-ids',
    service: 'quicksight',
    shape: 'DashboardVersionDefinition',
    source:
      'VisualId: "This identifier must be unique within the context of a dashboard, template, or analysis."; FilterGroup.FilterGroupId: "The value that uniquely ' +
      'identifies a FilterGroup within a dashboard"; CategoryFilter.FilterId: "An identifier that uniquely identifies a filter within a dashboard"; SheetDefinition.SheetId',
    check(def) {
      const found: RuleFinding[] = [];
      const seen = new Map<string, string>();
      const claim = (kind: string, id: unknown, at: string) => {
        if (typeof id !== 'string') return;
        const key = `${kind} ${id}`;
        const first = seen.get(key);
        if (first) found.push({ at, message: `${kind} ${JSON.stringify(id)} is already used at ${first}` });
        else seen.set(key, at);
      };
      list(def.Sheets).forEach((sheet, i) => {
        claim('SheetId', sheet.SheetId, `Sheets[${i}].SheetId`);
        list(sheet.Visuals).forEach((visual, j) => {
          for (const [kind, v] of Object.entries(visual)) claim('VisualId', (v as Obj | undefined)?.VisualId, `Sheets[${i}].Visuals[${j}].${kind}.VisualId`);
        });
      });
      list(def.FilterGroups).forEach((group, i) => {
        claim('FilterGroupId', group.FilterGroupId, `FilterGroups[${i}].FilterGroupId`);
        list(group.Filters).forEach((filter, j) => {
          for (const [kind, f] of Object.entries(filter))
            claim('FilterId', (f as Obj | undefined)?.FilterId, `FilterGroups[${i}].Filters[${j}].${kind}.FilterId`);
        });
      });
      return found;
    },
  },
  {
    id: 'glue-partition-values',
    service: 'glue',
    shape: 'PartitionInput',
    source: 'PartitionInput.Values: "Although this parameter is not required by the SDK, you must specify this parameter for a valid input."',
    check(p) {
      return Array.isArray(p.Values) ? [] : [{ at: 'Values', message: 'must be given (the partition values, in the order of the partition keys)' }];
    },
  },
  {
    id: 'glue-athena-partition-keys',
    service: 'glue',
    shape: 'TableInput',
    source:
      'TableInput.PartitionKeys: "When you create a table used by Amazon Athena, and you do not specify any partitionKeys, you must at least set the value of ' +
      'partitionKeys to an empty list." (every cclake table is read by Athena)',
    check(t) {
      return t.PartitionKeys === undefined ? [{ at: 'PartitionKeys', message: 'must be set, to [] for an unpartitioned table, for Athena' }] : [];
    },
  },
  ...(['UploadPartRequest', 'CompletedPart', 'UploadPartCopyRequest'] as const).map(
    (shape): ProseRule => ({
      id: 's3-part-number',
      service: 's3',
      shape,
      source: 'UploadPartRequest.PartNumber / CompletedPart.PartNumber: "This is a positive integer between 1 and 10,000."',
      check(part) {
        const n = part.PartNumber;
        return typeof n === 'number' && (n < 1 || n > 10_000) ? [{ at: 'PartNumber', message: `${n} is not between 1 and 10,000` }] : [];
      },
    }),
  ),
  {
    id: 's3-delete-quiet',
    service: 's3',
    shape: 'Delete',
    source: 'Delete.Quiet: "When you add this element, you must set its value to true."',
    check(d) {
      return d.Quiet === false ? [{ at: 'Quiet', message: 'must be true when given (leave it out for verbose mode)' }] : [];
    },
  },
  {
    id: 's3-if-none-match',
    service: 's3',
    shape: 'PutObjectRequest',
    source: 'PutObjectRequest.IfNoneMatch: "Expects the \'*\' (asterisk) character."',
    check(p) {
      return p.IfNoneMatch !== undefined && p.IfNoneMatch !== '*' ? [{ at: 'IfNoneMatch', message: `must be '*', got ${JSON.stringify(p.IfNoneMatch)}` }] : [];
    },
  },
  {
    id: 'athena-output-location',
    service: 'athena',
    shape: 'ResultConfiguration',
    source:
      'ResultConfiguration.OutputLocation: "The location in Amazon S3 where your query and calculation results are stored, such as s3://path/to/query/bucket/."',
    check(r) {
      return typeof r.OutputLocation === 'string' && !/^s3:\/\/[^/]+/.test(r.OutputLocation)
        ? [{ at: 'OutputLocation', message: `must be an s3://bucket/… URI, got ${JSON.stringify(r.OutputLocation)}` }]
        : [];
    },
  },
  ...(['PublishInput', 'PublishBatchRequestEntry'] as const).map(
    (shape): ProseRule => ({
      id: 'sns-fifo-ids',
      service: 'sns',
      shape,
      source:
        'MessageDeduplicationId / MessageGroupId: "can contain up to 128 alphanumeric characters (a-z, A-Z, 0-9) and punctuation (!\"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~)"; ' +
        '"You must associate a non-empty MessageGroupId with a message."',
      check(entry) {
        const found: RuleFinding[] = [];
        for (const key of ['MessageDeduplicationId', 'MessageGroupId']) {
          const v = entry[key];
          if (typeof v === 'string' && !/^[!-~]{1,128}$/.test(v))
            found.push({ at: key, message: `${JSON.stringify(v)} is not 1 to 128 alphanumerics and punctuation` });
        }
        return found;
      },
    }),
  ),
  ...(['CreateDataSetRequest', 'UpdateDataSetRequest'] as const).map(
    (shape): ProseRule => ({
      id: `quicksight-record-dataset-columns-${shape}`,
      service: 'quicksight',
      shape,
      source: "records the dataset's output columns for quicksight-rls-format-version (no finding of its own)",
      check(input, { session }) {
        if (typeof input.DataSetId === 'string')
          session.dataSetColumns.set(input.DataSetId, { columns: outputColumns(input), useAs: input.UseAs as string | undefined });
        return [];
      },
    }),
  ),
];

/** A dataset's column names after its logical tables' renames, created columns and projections. */
function outputColumns(input: Obj): Set<string> {
  const columns = new Set<string>();
  for (const table of Object.values((input.PhysicalTableMap ?? {}) as Record<string, Obj>)) {
    for (const source of Object.values(table ?? {})) for (const c of list((source as Obj)?.InputColumns)) if (typeof c.Name === 'string') columns.add(c.Name);
  }
  for (const logical of Object.values((input.LogicalTableMap ?? {}) as Record<string, Obj>)) {
    for (const t of list(logical?.DataTransforms)) {
      const rename = t.RenameColumnOperation as Obj | undefined;
      if (rename && typeof rename.ColumnName === 'string' && typeof rename.NewColumnName === 'string') {
        columns.delete(rename.ColumnName);
        columns.add(rename.NewColumnName);
      }
      for (const c of list((t.CreateColumnsOperation as Obj | undefined)?.Columns)) if (typeof c.ColumnName === 'string') columns.add(c.ColumnName);
      const projected = (t.ProjectOperation as Obj | undefined)?.ProjectedColumns;
      if (Array.isArray(projected)) for (const c of [...columns]) if (!projected.includes(c)) columns.delete(c);
    }
  }
  return columns;
}
