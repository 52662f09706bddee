// Chimera's browser tests: Debian's Chromium (never a downloaded one) against `chimera up`.
import { defineConfig } from '@playwright/test';
import path from 'node:path';
import { ARTIFACTS } from './harness/stack';

export const CHROMIUM = process.env.CHIMERA_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './specs',
  globalSetup: './harness/global-setup.ts',
  // Two cores run three Python services and several browser contexts: one spec at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  outputDir: path.join(ARTIFACTS, 'browser/results'),
  reporter: [['list'], ['html', { outputFolder: path.join(ARTIFACTS, 'browser/report'), open: 'never' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Speech plays without a click first (specs/speech.spec.ts), as after a user's gesture.
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
});
