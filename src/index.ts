// The public surface of Transact: exports only, no logic. The names are listed in src/public-api.ts.

export * from './public-api.js';

// The default export is the package itself, as a CommonJS package's is for `import pkg from …` (DBOS is one):
// `import transact from 'transact'; transact.DBOS.launch()` works, in ES modules and in CommonJS.
export { default } from './package-object.js';
