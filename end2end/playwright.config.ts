import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, Project } from '@playwright/test';

// Two projects (STYLE.md 15): `hydrated` runs every spec in a browser that runs the WASM;
// `no-js` runs tests/no-js/ with JavaScript off, for the pages that must work as plain HTML.
// Every spec arranges its own data (`server seed-customer`), so any file runs alone, in any order:
//
//   scripts/test e2e tests/05-admin.spec.ts            one spec, through the project's entry point
//   E2E_ORDER=reverse scripts/test e2e --workers=1     every spec, last file first
//   scripts/test e2e --shuffle=SEED                    every file in a random order (a bare --shuffle,
//                                                      last, picks a seed; both print it)
//
// Playwright sorts the files of a project itself. E2E_ORDER=reverse makes one project per file
// instead, last file first: with one worker, Playwright takes the test groups of the projects in
// the order they are declared (checked on 1.65.1: the list
// reporter then prints no-js/landing.spec.ts first and 01-home.spec.ts last).
// No `dependencies` between them on purpose: a failing file must not skip the files after it.

const testDir = join(__dirname, 'tests');
const noJsDir = 'no-js';
const noJs = { javaScriptEnabled: false };

/** The spec files under tests/, as Playwright names them (relative, `/`-separated), sorted. */
function specFiles(dir = testDir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return specFiles(path);
      return entry.name.endsWith('.spec.ts') ? [relative(testDir, path).split('\\').join('/')] : [];
    })
    .sort();
}

/** One project per spec file, in reverse order. */
function reversedProjects(): Project[] {
  return specFiles()
    .reverse()
    .map((file) => ({
      name: file,
      testMatch: new RegExp(`/tests/${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
      use: file.startsWith(`${noJsDir}/`) ? noJs : {},
    }));
}

const projects: Project[] =
  process.env.E2E_ORDER === 'reverse'
    ? reversedProjects()
    : [
        { name: 'hydrated', testIgnore: `${noJsDir}/**` },
        { name: 'no-js', testMatch: `${noJsDir}/**/*.spec.ts`, use: noJs },
      ];

// Debian's Chromium (browser downloads do not work here), headless, on loopback only.
export default defineConfig({
  testDir,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  // In CI a failed test runs once more: the summary then says `1 flaky` (scripts/test prints it),
  // and a test that fails twice fails the run. Locally, a failure is a failure.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    locale: 'fr-FR',
    screenshot: 'only-on-failure',
    trace: 'off',
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects,
});
