// transact/datasources/postgres: the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { postgresjs } from './support/libraries.js';

dataSourceSuite(postgresjs);
