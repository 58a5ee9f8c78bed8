// What an idle process costs its database [postgres]: see support/idle-cost.ts.
import { idleCostSuite } from './support/idle-cost.js';

idleCostSuite('postgres');
