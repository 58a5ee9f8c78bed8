// Micro-benchmark of the native encoder on a ~1 KB plain object: the fast path (walk + JSON.stringify into the
// envelope) against superjson itself and bare JSON.stringify. Run: npx tsx bench/serialization.ts

import SuperJSON from 'superjson';
import { deserializeValue, serializeValue } from '../src/serialization/index.js';

const order = {
  id: 'ord_01HZX3K9V7Q2M8N4P6R5T1W0YB',
  customer: { id: 'cus_8842', name: 'Ada Lovelace', email: 'ada@example.com', tier: 'gold', marketingOptIn: false },
  shipping: { street: '12 Analytical Row', city: 'London', postcode: 'N1 9GU', country: 'GB', instructions: null },
  items: Array.from({ length: 6 }, (_, i) => ({
    sku: `SKU-${1000 + i}`,
    title: `Difference engine part #${i}`,
    quantity: i + 1,
    unitPriceCents: 1299 + i * 150,
    tags: ['brass', 'gear', i % 2 === 0 ? 'heavy' : 'light'],
  })),
  totals: { subtotalCents: 48210, taxCents: 9642, shippingCents: 0, currency: 'GBP' },
  status: 'paid',
  attempts: 1,
};

function measure(name: string, fn: () => unknown, iterations = 200_000): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns/op`);
}

const text = serializeValue(order).text;
console.log(`payload: ${JSON.stringify(order).length} bytes of JSON\n`);
measure('JSON.stringify', () => JSON.stringify(order));
measure('serializeValue (fast path: walk + stringify)', () => serializeValue(order));
measure('superjson envelope (DBOS form)', () =>
  JSON.stringify({ ...SuperJSON.serialize(order), __dbos_serializer: 'superjson' }),
);
console.log();
measure('JSON.parse', () => JSON.parse(text));
measure('deserializeValue (no meta: JSON.parse only)', () => deserializeValue(text, 'js_superjson'));
measure('superjson.deserialize(JSON.parse(text))', () => SuperJSON.deserialize(JSON.parse(text)));
