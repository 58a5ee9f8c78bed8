// DBOS.tracer: the application's own spans, from the tracer of the workflow and step spans; and
// DBOS.withNamedContext, which only runs its callback.

import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DBOS } from '../../src/index.js';
import { describeEachBackend, dropFreshDatabases, freshDatabase } from '../support/backends.js';
import { engineOn, launchOn } from '../support/launch.js';

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const withCustomSpan = DBOS.registerWorkflow(
  async () => {
    const span = DBOS.tracer!.startSpan('lookupCustomer', { operationName: 'lookupCustomer', customer: 'c-1' }, DBOS.span);
    DBOS.tracer!.endSpan(span);
    return 'done';
  },
  { name: 'withCustomSpan' },
);

after(dropFreshDatabases);

describeEachBackend('DBOS.tracer', (kind) => {
  engineOn(kind, 'tracer', { tracingEnabled: true, otelAttributeFormat: 'semconv' });

  it('starts spans of the application’s own as children of the workflow span, with DBOS attribute names resolved', async () => {
    exporter.reset();
    const id = `custom-span-${kind}`;
    assert.equal(await (await DBOS.startWorkflow(withCustomSpan, { workflowID: id })()).getResult(), 'done');
    const spans = exporter.getFinishedSpans();
    const workflow = spans.find((s) => s.name === 'withCustomSpan');
    const custom = spans.find((s) => s.name === 'lookupCustomer');
    assert.ok(workflow && custom, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(custom.parentSpanContext?.spanId, workflow.spanContext().spanId);
    assert.deepEqual(custom.attributes, { 'dbos.operation.name': 'lookupCustomer', customer: 'c-1' });
    assert.equal(DBOS.tracer!.resolveAttributeName('operationUUID'), 'dbos.operation.workflow_id');
  });

  it('runs the callback of withNamedContext and returns its result', async () => {
    assert.equal(await DBOS.withNamedContext('billing-handler', async () => withCustomSpan()), 'done');
  });
});

it('has no tracer when tracing is off', async () => {
  await DBOS.shutdown(); // the engine of the block above, if it is still up
  await launchOn(freshDatabase('sqlite', 'no_tracer'));
  try {
    assert.equal(DBOS.tracer, undefined);
  } finally {
    await DBOS.shutdown();
  }
});
