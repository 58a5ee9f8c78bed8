// transact/datasources/knex (Knex): the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { knex } from './support/libraries.js';

dataSourceSuite(knex);
