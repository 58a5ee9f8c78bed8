// `tsx bench/retention-only.ts`: the retention benchmark alone (npm run bench runs it with the others).
import { runRetentionBench } from './retention.js';
import { benchBaseUrl } from './stats.js';

await runRetentionBench(benchBaseUrl);
