import type { ObjectStore } from '../store/port';
import type { CatalogPort } from './port';
import { StoreCatalog } from './store-catalog';

/**
 * The catalog for a lake. Locally the partition pointers live in the lake itself; the Glue
 * catalog (AWS) implements the same port with the catalog stage.
 */
export function catalogFor(store: ObjectStore): CatalogPort {
  return new StoreCatalog(store);
}
