#!/usr/bin/env node
// The `transact` executable (see main.ts for the commands).

import { redactSecrets } from '../redact.js';
import { main, UsageError } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(redactSecrets(err instanceof UsageError ? err.message : `transact: ${err.message}`));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
