// The Prisma client of the data-source tests, generated from test/datasources/prisma/schema.prisma into
// test/datasources/prisma/generated/ (not committed). Run as a script (`npm run prisma:generate`, CI and
// `npm run typecheck` do), and called by the tests before they load the client; it does nothing when the client there
// was generated from the same schema by the same Prisma.
//
// No download: the schema uses Prisma 7's Rust-free `prisma-client` generator (the client runs on the
// @prisma/adapter-pg driver adapter), and `prisma generate` needs no engine. Prisma's CLI still makes sure a schema
// engine binary is there before `generate` (and downloads one from outside the npm registry when it is not, which fails
// on machines that reach the npm registry only); PRISMA_SCHEMA_ENGINE_BINARY, Prisma's own override, points it at
// no-schema-engine.sh instead, which `generate` never runs (and which says so and fails, if anything ever did).
//
// Two test processes may ask at once: each generates into a directory of its own and renames it into place.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prismaDir = join(here, '..', 'prisma');
const schemaPath = join(prismaDir, 'schema.prisma');
const generatedDir = join(prismaDir, 'generated');
const stampPath = join(generatedDir, '.stamp');

function stamp(): string {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('prisma/package.json');
  const version = (JSON.parse(readFileSync(cli, 'utf8')) as { version: string }).version;
  return createHash('sha256').update(version).update('\0').update(readFileSync(schemaPath)).digest('hex');
}

/** Generates the test client unless the one in place matches the schema and the installed Prisma. */
export function ensurePrismaClient(): void {
  const want = stamp();
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want) return;
  const require = createRequire(import.meta.url);
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  const work = join(prismaDir, `.generate-${process.pid}-${randomBytes(3).toString('hex')}`);
  const out = join(work, 'generated');
  try {
    // The schema again, writing to this process's own directory.
    const schema = readFileSync(schemaPath, 'utf8').replace(/output\s*=\s*"[^"]*"/, `output = ${JSON.stringify(out)}`);
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'schema.prisma'), schema);
    execFileSync(process.execPath, [cli, 'generate', '--schema', join(work, 'schema.prisma')], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? join(prismaDir, 'no-schema-engine.sh'),
      },
    });
    writeFileSync(join(out, '.stamp'), want);
    if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want) return; // another process was first
    rmSync(generatedDir, { recursive: true, force: true });
    try {
      renameSync(out, generatedDir);
    } catch (err) {
      if (!(existsSync(stampPath) && readFileSync(stampPath, 'utf8') === want)) throw err;
    }
  } catch (err) {
    const e = err as Error & { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`prisma generate failed: ${e.message}\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensurePrismaClient();
  console.log(`Prisma test client in ${generatedDir}`);
}
