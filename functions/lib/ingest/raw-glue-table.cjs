// osls variable source (serverless.yml: ${file(./functions/lib/ingest/raw-glue-table.cjs):tableInput}):
// loads raw-glue-table.ts through tsx and returns the raw Glue table for the stack's config parameter.
// Offline: nothing here calls AWS.
module.exports = async ({ resolveVariable }) => {
  const { tsImport } = require('tsx/esm/api');
  const { rawGlueTable } = await tsImport('./raw-glue-table.ts', __filename);
  return rawGlueTable(await resolveVariable('param:cclakeConfigJson'));
};
