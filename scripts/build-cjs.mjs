// After `tsc` has built the ES module build into dist/, adds the CommonJS entry points under dist/cjs/:
//
//   dist/cjs/index.js, kafka.js, testing.js require() the ES module build (Node.js >= 20.19 loads ES modules from
//                                          require), so a process that both imports and requires Transact holds one
//                                          engine state, one registry, one set of classes;
//   dist/cjs/**/*.d.ts                     the declarations again, read as CommonJS (dist/cjs/package.json says so),
//                                          for TypeScript projects compiled to CommonJS.
//
// Nothing is compiled twice: the CommonJS files hold no code of their own.

import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const cjs = join(dist, 'cjs');
rmSync(cjs, { recursive: true, force: true });
mkdirSync(cjs, { recursive: true });
writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');

/** A CommonJS module whose exports are those of the ES module `target` (relative to dist/). */
function entry(file, target) {
  writeFileSync(
    join(cjs, file),
    `'use strict';
// CommonJS entry of Transact: the ES module build itself, so that require() and import share one engine state.
try {
  module.exports = require(${JSON.stringify(`${'../'.repeat(file.split('/').length)}${target}`)});
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      'transact: require() of this package needs Node.js 20.19 or later (it loads the ES module build); use import, or upgrade Node.js',
      { cause: err },
    );
  }
  throw err;
}
`,
  );
}

entry('index.js', 'index.js');
entry('kafka.js', 'receivers/kafka.js');
entry('eventreceiver.js', 'receivers/api.js');
entry('redis.js', 'receivers/redis.js');
entry('nats.js', 'receivers/nats.js');
entry('pg-changes.js', 'receivers/pg-changes.js');
entry('testing.js', 'testing/index.js');
// transact/datasources/<library>: one entry each, loading only that library.
const dataSources = ['nodepg', 'postgres', 'knex', 'kysely', 'drizzle', 'typeorm', 'prisma'];
mkdirSync(join(cjs, 'datasources'), { recursive: true });
for (const name of dataSources) entry(`datasources/${name}.js`, `datasources/${name}.js`);

// The declarations, under dist/cjs/ as they are under dist/.
function copyDeclarations(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path === cjs) continue;
    if (statSync(path).isDirectory()) copyDeclarations(path);
    else if (name.endsWith('.d.ts')) {
      const to = join(cjs, relative(dist, path));
      mkdirSync(join(to, '..'), { recursive: true });
      cpSync(path, to);
    }
  }
}
copyDeclarations(dist);
// The subpath's declarations at the name its entry has.
for (const [name, target] of [['kafka', 'kafka'], ['eventreceiver', 'api'], ['redis', 'redis'], ['nats', 'nats'], ['pg-changes', 'pg-changes'], ['testing', '../testing/index']]) {
  writeFileSync(join(cjs, `${name}.d.ts`), `export * from './receivers/${target}.js';\n`);
}
