// The operator console in a real browser (Debian's Chromium, headless, driven by playwright-core), against a private
// PostgreSQL server that the last test stops to see the outage banner. Each main view is saved as a screenshot under
// artifacts/console/ for a person to look at.

import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DBOS, DBOSClient, startAdminServer, type AdminServer } from '../../src/index.js';
import { ARTIFACTS, browserUnavailable, launchBrowser, type Browser } from '../support/browser.js';
import { launchOn } from '../support/launch.js';
import { PrivatePostgres, privatePostgresUnavailable } from '../support/private-postgres.js';
import { latch, waitUntil } from '../support/wait.js';

const ran: string[] = [];
let gate = latch();
const charge = DBOS.registerStep(
  async (order: string) => {
    ran.push(`charge-${order}`);
    return { receipt: `r-${order}`, amount: 42, lines: [{ sku: 'A-1', qty: 2 }] };
  },
  { name: 'chargeCard' },
);
const ship = DBOS.registerStep(
  async (order: string) => {
    ran.push(`ship-${order}`);
    return `shipped ${order}`;
  },
  { name: 'ship' },
);
const notify = DBOS.registerWorkflow(async (order: string) => `notified ${order}`, { name: 'notify' });
const checkout = DBOS.registerWorkflow(
  async (order: string, options: { wait?: boolean } = {}) => {
    const receipt = await charge(order);
    await DBOS.sleepms(30);
    if (options.wait) await gate.promise;
    await ship(order);
    await notify(order);
    return { order, receipt };
  },
  { name: 'checkout' },
);
const refund = DBOS.registerWorkflow(
  async (order: string) => {
    await charge(order);
    throw new Error(`card declined for ${order}`);
  },
  { name: 'refund' },
);
const greet = DBOS.registerWorkflow(async (n: unknown) => `hello ${String(n)}`, { name: 'greet' });

// Skipped where Chromium or PostgreSQL's server binaries are missing, except under CI=true (.ci/run installs them).
const skip = process.env.CI === 'true' ? false : (browserUnavailable ?? privatePostgresUnavailable);

describe('the operator console in a browser [postgres]', { skip }, () => {
  let pg: PrivatePostgres;
  let client: DBOSClient;
  let server: AdminServer;
  let browser: Browser;
  let page: Page;
  const ids = { pending: 'order-pending', pending2: 'order-pending-2', done: 'order-1001', failed: 'order-refund-7', victim: 'order-victim', victim2: 'order-victim-2' };

  before(async () => {
    pg = await PrivatePostgres.create();
    await launchOn(pg.url, { executorID: 'console-test-executor' });
    client = await DBOSClient.create({ systemDatabaseUrl: pg.url, databaseRetryTimeoutMs: 1500 });
    server = await startAdminServer(client, { port: 0, apiTimeoutMs: 4000 });
    browser = await launchBrowser('MAP rebind.test 127.0.0.1');
    page = await browser.context.newPage();

    // 60 quick workflows (more than a page), a few of every kind, waiting ones on a queue no process serves.
    await Promise.all(Array.from({ length: 60 }, (_, i) => DBOS.startWorkflow(greet, { workflowID: `greet-${String(i).padStart(3, '0')}` })(i)));
    await (await DBOS.startWorkflow(checkout, { workflowID: ids.done })(ids.done)).getResult();
    await assert.rejects((await DBOS.startWorkflow(refund, { workflowID: ids.failed })(ids.failed)).getResult());
    gate = latch();
    for (const id of [ids.pending, ids.pending2, ids.victim]) await DBOS.startWorkflow(checkout, { workflowID: id })(id, { wait: true });
    await (await DBOS.startWorkflow(checkout, { workflowID: ids.victim2 })(ids.victim2)).getResult();
    for (let i = 0; i < 4; i++) await client.enqueue({ queueName: 'parked', workflowName: 'greet', workflowID: `parked-${i}` }, i);
    await client.createSchedule({ scheduleName: 'nightly-report', workflowName: 'greet', schedule: '0 3 * * *' });
    await waitUntil(async () => (await client.getWorkflow(ids.pending))?.status === 'PENDING' && ran.includes(`charge-${ids.victim}`), {
      message: 'the gated workflows to be running',
    });
  });

  after(async () => {
    gate.release();
    await browser?.close();
    await server?.close();
    await client?.destroy();
    await DBOS.shutdown();
    pg?.destroy();
  });

  const text = (selector: string) => page.textContent(selector).then((t) => t ?? '');
  const waitText = (selector: string, pattern: RegExp, message?: string) =>
    waitUntil(async () => pattern.test(await text(selector)) && (await text(selector)), { timeoutMs: 15_000, message: message ?? `${selector} ~ ${pattern}` });
  const shot = (name: string, fullPage = false) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
  /** Clicks a button that opens the confirmation dialog, checks what it says, and confirms (or backs out). */
  async function confirmWith(button: string, says: RegExp, confirm = true): Promise<void> {
    await page.click(button);
    await page.waitForSelector('#confirm[open]');
    assert.match(await text('#confirmText'), says);
    await page.click(confirm ? '#confirmOk' : '#confirmBack');
    await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  }
  async function refreshes(n: number): Promise<void> {
    // The live indicator shows the time of the last answer: wait for it to change n times (the page refreshes every 2 s).
    let last = await text('#live');
    for (let i = 0; i < n; i++) {
      last = await waitUntil(async () => {
        const now = await text('#live');
        return now !== last && /updated/.test(now) && now;
      }, { timeoutMs: 10_000, message: 'a refresh of the page' });
    }
  }

  it('lists workflows newest first, pages through them on the server, and filters', async () => {
    await page.goto(server.consoleUrl);
    assert.doesNotMatch(page.url(), /token=/, 'the token leaves the address bar');
    const total = await client.countWorkflows();
    await waitText('#total', new RegExp(`^${total} workflows$`));
    assert.match(await text('#pageInfo'), new RegExp(`^1–50 of ${total}, newest first$`));
    const first = await page.$$eval('#rows tr', (rows) => rows.map((r) => r.getAttribute('data-id')));
    assert.equal(first.length, 50);
    const newest = await client.listWorkflows({ sortDesc: true, limit: 50, loadInput: false });
    assert.deepEqual(first, newest.map((w) => w.workflowID), 'the same rows and order as the database, newest first');
    assert.match(await text('th:nth-child(5)'), /UTC\+0[12]:00 Europe\/Paris/, 'times say their zone');
    await shot('workflows');

    await page.click('#older');
    await waitText('#pageInfo', new RegExp(`^51–${total} of ${total}`));
    assert.equal(await page.$$eval('#rows tr', (r) => r.length), total - 50);
    assert.ok(await page.isDisabled('#older'));
    await page.click('#newer');
    await waitText('#pageInfo', /^1–50 of/);

    await page.selectOption('select[name=status]', 'ERROR');
    await waitText('#total', /^1 workflow$/);
    assert.deepEqual(await page.$$eval('#rows tr', (rows) => rows.map((r) => r.getAttribute('data-id'))), [ids.failed]);
    assert.match(page.url(), /status=ERROR/, 'the filter is in the address, so a reload or a shared link keeps it');
    await page.selectOption('select[name=status]', '');
    await page.fill('input[name=search]', 'ORDER-PEND');
    await waitText('#total', /^2 workflows$/);
    await page.fill('input[name=search]', '');
    await page.fill('input[name=name]', 'checkout');
    await page.fill('input[name=queue]', '');
    await waitText('#total', /^5 workflows$/); // the five checkouts (their notify children have their own name)
    await page.fill('input[name=from]', '2999-01-01T00:00:00');
    await waitText('#rows', /No workflows match/);
    await page.click('#clearFilters');
    await waitText('#total', new RegExp(`^${total} workflows$`));
  });

  it('shows a workflow: pretty input and output, the step timeline, sleeps, links to its child; an error with its stack', async () => {
    await page.goto(`${server.url}/#/workflow/${ids.done}`);
    await waitText('#wfBody', /Steps/);
    const body = await text('#wfBody');
    assert.match(body, /"receipt": "r-order-1001"/, 'the output, indented');
    assert.match(body, /Input \(1 argument\)/);
    assert.match(body, /chargeCard[\s\S]*DBOS\.sleep[\s\S]*sleep until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[\s\S]*ship[\s\S]*notify/);
    const steps = (await client.listWorkflowSteps(ids.done))!;
    assert.equal(await page.$$eval('#wfBody .bar span', (bars) => bars.filter((b) => /width: \d/.test(b.getAttribute('style') ?? '')).length), steps.length, 'a bar per step');
    const childID = `${ids.done}-3`;
    assert.match(body, new RegExp(`Children\\s*${childID}\\s*SUCCESS`));
    await shot('workflow', true);
    // The picture in the README: the same page, smaller.
    await page.setViewportSize({ width: 1100, height: 700 });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(ARTIFACTS, 'readme.png') });
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.click(`#wfBody a[href="#/workflow/${childID}"]`);
    await waitText('#wfHead', new RegExp(`^${childID}`));
    assert.match(await text('#wfBody'), new RegExp(`Parent\\s*${ids.done}`));

    await page.goto(`${server.url}/#/workflow/${ids.failed}`);
    await waitText('#wfBody', /Error: card declined for order-refund-7/);
    assert.match(await text('#wfBody'), /Stack \(as stored\)[\s\S]*at /, 'the stored stack is shown');
    await shot('workflow-error');
  });

  it('cancels and resumes with confirmation, and refuses with the reason', async () => {
    await page.goto(`${server.url}/#/workflow/${ids.pending}`);
    await waitText('#wfHead', /PENDING/);
    await confirmWith('button[data-act=cancel]', /^Cancel order-pending \(now PENDING\)\?/, false);
    await waitText('#actionMessage', /^Nothing was done\.$/);
    assert.equal((await client.getWorkflow(ids.pending))?.status, 'PENDING');
    await confirmWith('button[data-act=cancel]', /^Cancel order-pending/);
    await waitText('#actionMessage', /^Cancelled order-pending \(it was PENDING\)\.$/);
    assert.equal((await client.getWorkflow(ids.pending))?.status, 'CANCELLED');
    await waitText('#wfHead', /CANCELLED/);
    await confirmWith('button[data-act=cancel]', /Cancel/);
    await waitText('#actionMessage', /^Refused: workflow order-pending is already CANCELLED$/);
    await page.click('button[data-act=rewind]'); // no step typed: refused before any dialog opens
    await waitText('#actionMessage', /^Type the step to rewind from \(a whole number, 0 or more\): nothing was done\.$/);
    assert.ok(await page.isHidden('#confirm'));
    await confirmWith('button[data-act=resume]', /^Resume order-pending \(now CANCELLED\)\?/);
    await waitText('#actionMessage', /^Resumed order-pending \(it was CANCELLED\)/);
    await shot('workflow-action');

    await page.goto(`${server.url}/#/workflow/${ids.done}`);
    await waitText('#wfHead', /SUCCESS/);
    await confirmWith('button[data-act=cancel]', /Cancel/);
    await waitText('#actionMessage', /^Refused: workflow order-1001 already finished with SUCCESS: there is nothing to cancel$/);
    await confirmWith('button[data-act=resume]', /Resume/);
    await waitText('#actionMessage', /^Refused: workflow order-1001 already finished with SUCCESS: a finished workflow cannot be resumed/);
  });

  it('keeps the fork step the operator typed through refreshes and a reload, and forks from it', async () => {
    await page.goto(`${server.url}/#/workflow/${ids.victim2}`);
    await waitText('#wfHead', /SUCCESS/);
    await page.fill('#forkStep', '2');
    await refreshes(2);
    assert.equal(await page.inputValue('#forkStep'), '2', 'two refreshes later the step is still what was typed');
    await page.reload();
    await waitText('#wfHead', /SUCCESS/);
    assert.equal(await page.inputValue('#forkStep'), '2', 'and after a reload of the page');
    await page.fill('#forkID', 'order-victim-2-fork');
    ran.length = 0;
    await confirmWith('button[data-act=fork]', /^Fork order-victim-2 from step 2 \(ship\)\? Steps 0–1 keep their recorded results; step 2 and everything after run again in a new workflow named order-victim-2-fork\.$/);
    await waitText('#actionMessage', /^Forked order-victim-2 from step 2 as order-victim-2-fork/);
    assert.deepEqual(await DBOS.retrieveWorkflow('order-victim-2-fork').getResult(), { order: ids.victim2, receipt: { receipt: 'r-order-victim-2', amount: 42, lines: [{ sku: 'A-1', qty: 2 }] } });
    assert.deepEqual(ran, [`ship-${ids.victim2}`], 'the card was not charged again');
    await page.click('#actionMessage a');
    await waitText('#wfHead', /^order-victim-2-fork/);
    assert.match(await text('#wfBody'), /Forked from\s*order-victim-2/);
    await page.goto(`${server.url}/#/workflow/${ids.victim2}`);
    await waitText('#wfBody', /Forks\s*order-victim-2-fork/);
    await confirmWith('button[data-act=fork]', /Fork/);
    await waitText('#actionMessage', /^Refused: workflow order-victim-2-fork already exists/);
  });

  it('rewinds a finished workflow, refuses a running one, and deletes with confirmation', async () => {
    await page.goto(`${server.url}/#/workflow/${ids.pending2}`);
    await waitText('#wfHead', /PENDING/);
    await page.fill('#forkStep', '0');
    await confirmWith('button[data-act=rewind]', /^Rewind order-pending-2 to step 0 \(chargeCard\)\?/);
    await waitText('#actionMessage', /^Refused: Cannot rewind workflow order-pending-2: its status is PENDING/);
    await page.goto(`${server.url}/#/workflow/greet-001`);
    await waitText('#wfHead', /SUCCESS/);
    await page.check('#deleteChildren');
    await confirmWith('button[data-act=delete]', /^Delete greet-001 and all its descendants with everything recorded\? This cannot be undone\.$/);
    await waitText('#listMessage', /^Deleted greet-001 and their descendants\.$/);
    assert.equal(await client.getWorkflow('greet-001'), undefined);
    assert.match(page.url(), /#\/workflows/);
  });

  it('cancels every workflow matching a filter, after showing how many', async () => {
    await page.goto(`${server.url}/#/workflows?queue=parked`);
    await waitText('#total', /^4 workflows$/);
    await confirmWith('#bulkCancel', /^Cancel 4 workflows matching queue = parked \(statuses PENDING, ENQUEUED, DELAYED, MAX_RECOVERY_ATTEMPTS_EXCEEDED\)\?$/);
    await waitText('#listMessage', /^Cancelled 4 of 4 workflows\.$/);
    for (let i = 0; i < 4; i++) assert.equal((await client.getWorkflow(`parked-${i}`))?.status, 'CANCELLED');
    await page.goto(`${server.url}/#/workflows?queue=parked`);
    await page.click('#bulkCancel');
    await waitText('#listMessage', /^Nothing to cancel: no PENDING, ENQUEUED, DELAYED, MAX_RECOVERY_ATTEMPTS_EXCEEDED workflow matches queue = parked\.$/);
  });

  it('shows queues, schedules (pause, resume, trigger), executors and versions', async () => {
    await client.enqueue({ queueName: 'parked', workflowName: 'greet', workflowID: 'parked-late' }, 9);
    await page.goto(`${server.url}/#/queues`);
    await waitText('#queueRows', /parked\s*1\s*0\s*0\s*\d{4}-/);
    await shot('queues');

    await page.goto(`${server.url}/#/schedules`);
    await waitText('#scheduleRows', /nightly-report\s*greet\s*0 3 \* \* \*\s*server local\s*ACTIVE/);
    assert.match(await text('#scheduleRows'), /ACTIVE\s*\d{4}-\d\d-\d\d 03:00:00|ACTIVE\s*\d{4}-\d\d-\d\d \d\d:00:00/, 'the next fire time');
    await confirmWith('button[data-sched=pause]', /^Pause schedule nightly-report\?/);
    await waitText('#scheduleMessage', /^Paused schedule nightly-report/);
    await waitText('#scheduleRows', /PAUSED/);
    assert.equal((await client.getSchedule('nightly-report'))?.status, 'PAUSED');
    await confirmWith('button[data-sched=trigger]', /^Start the workflow of schedule nightly-report now/);
    const triggered = (await waitText('#scheduleMessage', /^Triggered schedule nightly-report: started (sched-nightly-report-trigger-\S+)\.$/)).match(/started (\S+)\.$/)![1]!;
    assert.ok(await client.getWorkflow(triggered), 'the triggered workflow exists');
    await shot('schedules');
    await confirmWith('button[data-sched=resume]', /^Resume schedule nightly-report\?/);
    await waitText('#scheduleRows', /ACTIVE/);

    await page.goto(`${server.url}/#/executors`);
    await waitText('#executorRows', /console-test-executor\s*transact-test\s*test-v1[\s\S]*alive/);
    await shot('executors');
    await page.goto(`${server.url}/#/versions`);
    await waitText('#versionRows', /test-v1\s*latest/);
    await shot('versions');
  });

  it('refuses what a page of another origin tries: a no-cors fetch, a text/plain form, a cross-origin read', async () => {
    const evil = await serveEvilPage(server.url);
    // What came back for each forged request: a status, or the browser's refusal to hand an answer the console marked
    // same-origin only (Cross-Origin-Resource-Policy) to the page; either way the request reached the console.
    const answers: { url: string; status: number | string }[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${server.url}/api/`)) answers.push({ url: r.url(), status: r.status() });
    });
    page.on('requestfailed', (r) => {
      const why = r.failure()?.errorText ?? '';
      if (r.url().startsWith(`${server.url}/api/`) && why.startsWith('net::ERR_BLOCKED_BY_RESPONSE')) answers.push({ url: r.url(), status: why });
    });
    try {
      await page.goto(evil.url, { waitUntil: 'commit' });
      await waitUntil(async () => (await page.getAttribute('body', 'data-read')) !== null, { message: 'the evil page to try to read' });
      assert.equal(await page.getAttribute('body', 'data-read'), 'blocked', 'the cross-origin read got nothing');
      await waitUntil(() => answers.some((a) => a.url.endsWith('/delete')) && answers.some((a) => a.url.endsWith('/cancel')), {
        message: 'both forged requests to reach the console',
      });
    } finally {
      page.removeAllListeners('response');
      page.removeAllListeners('requestfailed');
      evil.server.closeAllConnections();
      await new Promise((r) => evil.server.close(r));
    }
    for (const a of answers) {
      assert.ok([401, 403, 415].includes(a.status as number) || String(a.status).startsWith('net::ERR_BLOCKED_BY_RESPONSE'), `${a.url} answered ${a.status}`);
    }
    assert.equal((await client.getWorkflow(ids.victim))?.status, 'PENDING', 'the no-cors fetch cancelled nothing');
    assert.ok(await client.getWorkflow(ids.failed), 'the text/plain form deleted nothing');
  });

  it('refuses a page whose host name was rebound to the console (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    const response = await page.goto(`http://rebind.test:${port}/`);
    assert.equal(response?.status(), 421);
    // Even the JSON API, with the right token, answers nothing to that Host.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/workflows`, { headers: { host: `rebind.test:${port}`, authorization: `Bearer ${server.token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 421);
  });

  it('shows a banner while the database is unreachable, and clears it when it is back', async () => {
    await page.goto(`${server.consoleUrl}`);
    await waitText('#total', /workflows/);
    assert.ok(await page.isHidden('#outage'));
    pg.stop();
    try {
      await page.waitForSelector('#outage:not([hidden])', { timeout: 15_000 });
      assert.match(await text('#outage'), /^The system database is unreachable: .+\. The data shown is from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d and may be out of date\. Retrying every 2 seconds\.$/);
      assert.match(await text('#live'), /database unreachable/);
      await shot('outage');
      // An action during the outage says it was not done.
      await page.goto(`${server.url}/#/workflow/${ids.victim}`);
      await page.waitForSelector('#outage:not([hidden])', { timeout: 15_000 });
    } finally {
      pg.start();
    }
    await page.waitForSelector('#outage', { state: 'hidden', timeout: 20_000 });
    await waitText('#wfHead', /order-victim/);
  });
});

/** A page on another origin (another port) that tries to act on the console and to read from it. */
async function serveEvilPage(consoleUrl: string): Promise<{ server: Server; url: string }> {
  const html = `<!doctype html><html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="${consoleUrl}/api/workflows/order-refund-7/delete">
<input name='{"deleteChildren":true,"x":"' value='"}'></form>
<script>
fetch('${consoleUrl}/api/workflows/order-victim/cancel', { method: 'POST', mode: 'no-cors', body: '{}', headers: { 'content-type': 'text/plain' } }).catch(() => {});
fetch('${consoleUrl}/api/workflows?limit=5').then((r) => r.text()).then((t) => { document.body.dataset.read = t; }, () => { document.body.dataset.read = 'blocked'; });
document.getElementById('f').submit();
</script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
