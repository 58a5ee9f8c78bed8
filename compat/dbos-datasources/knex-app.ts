// A DBOS application written against @dbos-inc/dbos-sdk and @dbos-inc/knex-datasource, as DBOS documents them:
// legacy (experimentalDecorators) `@ds.transaction()` and `@DBOS.workflow()`, `registerTransaction`,
// `runTransaction`, the static `KnexDataSource.client` and the instance's `client`, `initializeDBOSSchema`.
// test/datasources/dbos-app.test.ts runs it on DBOS as it is, then on Transact with only its two imports changed,
// both writing to one application database.
//
// Environment: SYSTEM_DATABASE_URL, APP_DATABASE_URL, WORKFLOW_ID, ACCOUNT. Prints the workflow's result as JSON.

import { DBOS } from '@dbos-inc/dbos-sdk';
import { KnexDataSource } from '@dbos-inc/knex-datasource';

const config = { client: 'pg', connection: process.env.APP_DATABASE_URL! };
const bankDB = new KnexDataSource('bank-db', config);

const withdraw = bankDB.registerTransaction(
  async (account: string, amount: number) => {
    await KnexDataSource.client('bank_ledger').insert({ account, amount: -amount, workflow_id: DBOS.workflowID });
    return amount;
  },
  { name: 'withdraw' },
);

class Bank {
  @bankDB.transaction()
  static async deposit(account: string, amount: number): Promise<number> {
    await bankDB.client('bank_ledger').insert({ account, amount, workflow_id: DBOS.workflowID });
    const row = await bankDB.client('bank_ledger').where({ account }).sum({ total: 'amount' }).first();
    return Number(row?.total ?? 0);
  }

  @bankDB.transaction({ readOnly: true, isolationLevel: 'repeatable read' })
  static async balance(account: string): Promise<{ total: number; isolation: string }> {
    const row = await bankDB.client('bank_ledger').where({ account }).sum({ total: 'amount' }).first();
    const setting = await bankDB.client.raw(`SELECT current_setting('transaction_isolation') AS v`);
    return { total: Number(row?.total ?? 0), isolation: setting.rows[0].v };
  }

  @DBOS.workflow()
  static async payday(account: string) {
    const afterSalary = await Bank.deposit(account, 100);
    const afterBonus = await Bank.deposit(account, 50);
    const withdrawn = await withdraw(account, 30);
    const balance = await Bank.balance(account);
    const probe = await bankDB.runTransaction(async () => (await bankDB.client.raw('SELECT 41 + 1 AS answer')).rows[0].answer, {
      name: 'probe',
    });
    return { afterSalary, afterBonus, withdrawn, balance, probe, inTransactionNow: DBOS.isInTransaction() };
  }
}

async function main(): Promise<void> {
  DBOS.setConfig({ name: 'knex-bank', systemDatabaseUrl: process.env.SYSTEM_DATABASE_URL! });
  await KnexDataSource.initializeDBOSSchema(config);
  await DBOS.launch();
  const handle = await DBOS.startWorkflow(Bank, { workflowID: process.env.WORKFLOW_ID! }).payday(process.env.ACCOUNT!);
  console.log(`result ${JSON.stringify(await handle.getResult())}`);
  const steps = await DBOS.listWorkflowSteps(process.env.WORKFLOW_ID!);
  console.log(`steps ${JSON.stringify(steps?.map((s) => [s.functionID, s.name]))}`);
  await DBOS.shutdown();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
