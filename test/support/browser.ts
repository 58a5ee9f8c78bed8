// A real browser for the console's tests: Debian's Chromium (/usr/bin/chromium, installed by .ci/run where missing)
// driven by playwright-core, headless, in a fresh profile. Nothing is downloaded: playwright-core ships no browser.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.TRANSACT_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserUnavailable = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

/** Where screenshots go (git-ignored); kept after the run so a person can look at them. */
export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/console/', import.meta.url));

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile. `hostRules` maps host names to addresses inside the browser only
 * (`MAP rebind.test 127.0.0.1`): a DNS rebinding attack without touching the machine's resolver.
 */
export async function launchBrowser(hostRules?: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'transact-chromium-'));
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ];
  if (hostRules) args.push(`--host-resolver-rules=${hostRules}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 1400, height: 900 },
    timezoneId: 'Europe/Paris',
    locale: 'en-GB',
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
