// The demo's order pipeline: five steps, each taking about a second (DEMO_STEP_SECONDS), checkpointed by Transact.
// The demo (demo.ts) runs it; examples/testing/ tests it with transact/testing.

import { DBOS } from '../src/index.js';

const STEP_SECONDS = Number(process.env.DEMO_STEP_SECONDS ?? 1);
export const say = (line: string) => console.log(line);

/** The body of every step: announce it, take about a second, report. Replayed steps do not run, so print nothing. */
async function work(step: number, doing: string, result: string): Promise<string> {
  say(`  [${step}/5] ${doing}...`);
  await new Promise((r) => setTimeout(r, STEP_SECONDS * 1000));
  say(`        done: ${result}`);
  return result;
}

export class OrderPipeline {
  @DBOS.step()
  static async reserveInventory(orderID: string): Promise<string> {
    return work(1, `reserving inventory for ${orderID}`, 'reserved 3 items');
  }

  @DBOS.step()
  static async chargeCard(orderID: string): Promise<string> {
    return work(2, `charging the card for ${orderID}`, 'charged $42.00');
  }

  @DBOS.step()
  static async packParcel(orderID: string): Promise<string> {
    return work(3, `packing the parcel for ${orderID}`, 'parcel packed');
  }

  @DBOS.step()
  static async shipParcel(orderID: string): Promise<string> {
    return work(4, `handing the parcel to the courier for ${orderID}`, 'tracking number TX-1234');
  }

  @DBOS.step()
  static async emailCustomer(orderID: string): Promise<string> {
    return work(5, `emailing the customer about ${orderID}`, 'email sent');
  }

  @DBOS.workflow()
  static async processOrder(orderID: string): Promise<string[]> {
    const results: string[] = [];
    for (const step of [
      OrderPipeline.reserveInventory,
      OrderPipeline.chargeCard,
      OrderPipeline.packParcel,
      OrderPipeline.shipParcel,
      OrderPipeline.emailCustomer,
    ]) {
      results.push(await step(orderID));
    }
    return results;
  }
}
