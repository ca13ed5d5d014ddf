/**
 * The files a function's zip ships beside its bundle (serverless.yml's `package.patterns`): `sql/`
 * and `quicksight-templates/`. Both sit two folders up from the module that reads `import.meta.url`:
 * this file in the repository (functions/lib/bundled.ts -> sql/), and the bundle it is inlined into
 * in an unpacked zip (functions/<job>/handler.mjs -> sql/). Keep this file at this depth.
 */
import { fileURLToPath } from 'node:url';

/** `sql/` as shipped beside the handler. */
export const BUNDLED_SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
/** `quicksight-templates/` as shipped beside the handler. */
export const BUNDLED_TEMPLATES_DIR = fileURLToPath(new URL('../../quicksight-templates/', import.meta.url));
