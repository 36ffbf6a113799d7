import { expect, test } from './fixtures';
import { LandingPage } from './pages/landing';
import { EN, FR } from './pages/texts';

test.describe('home page', () => {
  test('hydrates: the password toggle only works once the WASM runs', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const landing = new LandingPage(page);
    await landing.goto();
    // The demo accounts are listed from the code's constants (development only), not from a spec's data.
    await expect(page.getByText('alice-demo-2026')).toHaveCount(0);
    await landing.showPasswords.click();
    await expect(page.getByText('alice-demo-2026')).toBeVisible();
    await expect(landing.hidePasswords).toBeVisible();
    expect(errors).toEqual([]);
  });

  test('speaks French by default and English on request', async ({ page }) => {
    const landing = new LandingPage(page);
    await landing.goto();
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await landing.switchLanguage(EN);
    const english = new LandingPage(page, EN);
    await expect(english.tagline).toBeVisible();
    await expect(english.submit).toBeVisible();
    await english.switchLanguage(FR);
    await expect(landing.submit).toBeVisible();
  });
});
