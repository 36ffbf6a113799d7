import { expect, test as base } from '@playwright/test';

export { expect };

/**
 * Every spec's `test`: the page also fails its test when the browser refuses something under the
 * site's Content-Security-Policy (a script, a frame, a request to Stripe), so the specs prove the
 * pages work with the policy on, not merely that they render.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && message.text().includes('Content Security Policy')) {
          violations.push(message.text());
        }
      });
      await use(violations);
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
