// What an idle process costs its database [sqlite]: see support/idle-cost.ts.
import { idleCostSuite } from './support/idle-cost.js';

idleCostSuite('sqlite');
