// transact/datasources/nodepg (node-postgres): the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { nodepg } from './support/libraries.js';

dataSourceSuite(nodepg);
