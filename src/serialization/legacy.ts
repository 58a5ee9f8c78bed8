// DBOS 4.x wrote plain JSON without the superjson marker, usually with a NULL serialization column, tagging the
// values JSON cannot carry. We only read it, so databases written by 4.x stay readable:
//   {"dbos_type":"dbos_Date","dbos_data":"<ISO>"}    -> Date
//   {"dbos_type":"dbos_BigInt","dbos_data":"<digits>"} -> bigint
//   {"type":"Buffer","data":[bytes]}                  -> Buffer (Buffer's own toJSON shape)

/** Revives the tagged objects of an already parsed 4.x value, in place where it can. */
export function reviveLegacyValue(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reviveLegacyValue(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  const tagged = reviveTagged(o);
  if (tagged !== NOT_TAGGED) return tagged;
  for (const k of Object.keys(o)) o[k] = reviveLegacyValue(o[k]);
  return o;
}

const NOT_TAGGED = Symbol('not tagged');

function reviveTagged(o: Record<string, unknown>): unknown {
  if (o.dbos_type === 'dbos_Date' && typeof o.dbos_data === 'string') return new Date(o.dbos_data);
  if (o.dbos_type === 'dbos_BigInt' && (typeof o.dbos_data === 'string' || typeof o.dbos_data === 'number')) {
    return BigInt(o.dbos_data);
  }
  if (o.type === 'Buffer' && Array.isArray(o.data) && Object.keys(o).length === 2) {
    return Buffer.from(o.data as number[]);
  }
  return NOT_TAGGED;
}
