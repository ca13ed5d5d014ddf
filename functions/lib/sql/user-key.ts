/** CONTRACTS section 3 `user_key`: lower-cased email when present, else account uuid, else user id (the same SQL on both engines). */
export const USER_KEY_SQL = `coalesce(nullif(lower(trim(user_email)), ''), user_account_uuid, user_id)`;
