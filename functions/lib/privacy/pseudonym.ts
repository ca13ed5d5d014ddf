/**
 * Privacy mode's pseudonyms (README "Privacy"): `u_` and the first 32 hex characters (128 bits) of
 * HMAC-SHA256(key, identity), where the identity is the named mode's CONTRACTS section 3 `user_key`
 * (lower-cased email, else account uuid, else user id) or, for the columns it is applied to, the
 * column's own value. The same identity always gets the same pseudonym under one key, and
 * distinct identities distinct ones (a collision needs ~2^64 people), so every distinct count,
 * sum and join on the pseudonym equals the named mode's. Lower case hex: `lower(trim(p)) = p`, so
 * the SQL's `user_key` expression returns the pseudonym unchanged.
 */
import { createHmac } from 'node:crypto';

export const PSEUDONYM_PREFIX = 'u_';
/** A pseudonym as written: what the SQL and the tests recognise. */
export const PSEUDONYM_PATTERN = /^u_[0-9a-f]{32}$/;

export class Pseudonymiser {
  private readonly cache = new Map<string, string>();
  constructor(private readonly key: Uint8Array) {
    if (key.length < 16) throw new RangeError(`the privacy key is ${key.length} bytes: at least 16 are needed (32 random bytes recommended)`);
  }

  /** The pseudonym of an identity (already normalised by the caller). */
  of(identity: string): string {
    let p = this.cache.get(identity);
    if (p === undefined) {
      p = PSEUDONYM_PREFIX + createHmac('sha256', this.key).update(identity, 'utf8').digest('hex').slice(0, 32);
      if (this.cache.size > 1_000_000) this.cache.clear();
      this.cache.set(identity, p);
    }
    return p;
  }
}

/** An e-mail address anywhere in a string (what privacy mode never lets through into curated data). */
export const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
