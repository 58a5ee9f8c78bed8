// transact/datasources/kysely: the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { kysely } from './support/libraries.js';

dataSourceSuite(kysely);
