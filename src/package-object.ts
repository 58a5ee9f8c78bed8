// The package's default export: the package itself, every public name (src/index.ts).

import * as transact from './public-api.js';

export default transact;
