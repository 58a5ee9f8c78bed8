#!/bin/sh
# Stands in for Prisma's schema engine (PRISMA_SCHEMA_ENGINE_BINARY) when the test client is generated: `prisma
# generate` with the prisma-client generator never runs it. Migrations are not made with Prisma in these tests.
echo "no Prisma schema engine here (see test/datasources/support/prisma-generate.ts)" >&2
exit 1
