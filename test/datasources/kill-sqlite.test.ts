// Exactly-once writes under SIGKILL, every data source at once [sqlite]: see support/kill.ts.
import { killSuite } from './support/kill.js';

killSuite('sqlite');
