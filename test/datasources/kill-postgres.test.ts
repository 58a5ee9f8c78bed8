// Exactly-once writes under SIGKILL, every data source at once [postgres]: see support/kill.ts.
import { killSuite } from './support/kill.js';

killSuite('postgres');
