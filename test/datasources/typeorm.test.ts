// transact/datasources/typeorm: the data-source behaviour on both system-database backends.
import { dataSourceSuite } from './support/suite.js';
import { typeorm } from './support/libraries.js';

dataSourceSuite(typeorm);
