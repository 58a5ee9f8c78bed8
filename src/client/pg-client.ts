// The `pg` client the …InTransaction methods of DBOSClient take (a pg.Client or a client checked out of a pg.Pool,
// inside a transaction the caller holds), described by what Transact calls on it so that applications without
// `@types/pg` still type-check Transact's declarations. Any `pg` client is one.

export interface PgClient {
  query(queryText: string, values?: any[]): Promise<{ rows: any[]; rowCount: number | null }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
