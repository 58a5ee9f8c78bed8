// transact/datasources/drizzle: the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { drizzle } from './support/libraries.js';

dataSourceSuite(drizzle);
