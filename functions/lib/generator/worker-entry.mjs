// Worker threads do not inherit tsx's loader, so the worker registers it before loading the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
