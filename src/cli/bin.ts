#!/usr/bin/env node
// The `transact` executable (see main.ts for the commands and the exit codes).

import { failure, main } from './main.js';

const argv = process.argv.slice(2);
main(argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const { code, text } = failure(err, argv);
    console.error(text);
    process.exit(code);
  },
);
