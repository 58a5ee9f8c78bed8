// `tsx bench/idle-only.ts`: the idle-cost measurement alone (npm run bench runs it with the others).
import { runIdleBench } from './idle.js';
import { benchBaseUrl } from './stats.js';

await runIdleBench(benchBaseUrl);
