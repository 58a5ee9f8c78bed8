// Tracing: a span per workflow run and per step, nested, with DBOS's attribute names, sent to the application's
// own OpenTelemetry provider.

import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases } from '../support/backends.js';
import { engineOn } from '../support/launch.js';

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

let spanInStep: unknown;
const fetchPrice = DBOS.registerStep(
  async (item: string) => {
    spanInStep = DBOS.span;
    return item.length;
  },
  { name: 'fetchPrice' },
);
const failing = DBOS.registerStep(
  async () => {
    throw new Error('card declined');
  },
  { name: 'chargeCard' },
);
const checkout = DBOS.registerWorkflow(
  async (item: string) => {
    const price = await fetchPrice(item);
    try {
      await failing();
    } catch {
      // the workflow carries on; the step's span records the failure
    }
    return price;
  },
  { name: 'checkout' },
);

after(dropFreshDatabases);

describeEachBackend('tracing', (kind) => {
  engineOn(kind, 'trace', { tracingEnabled: true });
  beforeEach(() => exporter.reset());

  it('emits a workflow span with a child span per step, carrying DBOS’s attributes', async () => {
    const id = `traced-${kind}`;
    assert.equal(await (await DBOS.startWorkflow(checkout, { workflowID: id })('book')).getResult(), 4);
    const spans = exporter.getFinishedSpans();
    const workflow = spans.find((s) => s.name === 'checkout');
    assert.ok(workflow, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(workflow.attributes.operationUUID, id);
    assert.equal(workflow.attributes.operationType, 'workflow');
    assert.equal(workflow.attributes.applicationVersion, 'test-v1');
    assert.equal(workflow.status.code, SpanStatusCode.OK);

    const steps = spans.filter((s) => s.attributes.operationType === 'step');
    assert.deepEqual(
      steps.map((s) => [s.name, s.attributes.functionID, s.status.code]),
      [
        ['fetchPrice', 0, SpanStatusCode.OK],
        ['chargeCard', 1, SpanStatusCode.ERROR],
      ],
    );
    for (const step of steps) {
      assert.equal(step.spanContext().traceId, workflow.spanContext().traceId, 'same trace');
      assert.equal(step.parentSpanContext?.spanId, workflow.spanContext().spanId, 'child of the workflow span');
    }
    assert.equal(steps[1]!.events[0]?.name, 'exception');
    assert.ok(spanInStep, 'DBOS.span is the step span inside a step');
  });
});
