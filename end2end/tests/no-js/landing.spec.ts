import { expect, test } from '../fixtures';
import { CheckoutPage } from '../pages/checkout';
import { LandingPage, login } from '../pages/landing';
import { EN, FR } from '../pages/texts';
import { seedCustomer } from '../support';

// The no-js project runs this file with JavaScript off: what is here must work as plain HTML.
test.describe('home page without JavaScript', () => {
  test('is whole: demo data and the login form are in the HTML', async ({ page }) => {
    const landing = new LandingPage(page, FR, false);
    await landing.goto();
    const count = page.getByTestId('echeance-count');
    const before = Number(await count.innerText());
    seedCustomer('counted', [{ cents: 10_000 }, { cents: 20_000, due: 30 }]);
    await page.reload();

    await expect(landing.heading).toBeVisible();
    expect(Number(await count.innerText())).toBeGreaterThanOrEqual(before + 2);
    await expect(page.getByText('alice@echeancier.test')).toBeVisible();
    await expect(landing.email).toBeVisible();
    await expect(page.locator('[data-hydrated="false"]')).toHaveCount(1);
  });

  test('an address that is no page answers 404, says so and leads home', async ({ page }) => {
    const answer = await page.goto('/no-such-page');
    expect(answer?.status()).toBe(404);
    await expect(page.getByText('Page introuvable.')).toBeVisible();
    await page.getByRole('link', { name: 'Retour à l\'accueil' }).click();
    await expect(new LandingPage(page, FR, false).heading).toBeVisible();
  });

  test('logs in with the form (an ActionForm posting to the server function) and out again', async ({ page }) => {
    const customer = seedCustomer('nojs-login', [{ cents: 30_000 }]);
    await login(page, customer, FR, false);
    await expect(new CheckoutPage(page).heading).toHaveAttribute('data-hydrated', 'false');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await expect(new LandingPage(page).submit).toBeVisible();
  });

  test('speaks the language the browser prefers until another is chosen', async ({ browser }) => {
    // A browser set to English (it sends Accept-Language: en-GB), with no language chosen here yet.
    const { baseURL } = test.info().project.use;
    const context = await browser.newContext({ baseURL, locale: 'en-GB', javaScriptEnabled: false });
    const page = await context.newPage();
    const landing = new LandingPage(page, EN, false);
    await landing.goto();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(landing.tagline).toBeVisible();
    await landing.switchLanguage(FR);
    await expect(new LandingPage(page, FR).tagline).toBeVisible();
    await page.reload();
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await context.close();
  });

  test('switches language with the header link', async ({ page }) => {
    const landing = new LandingPage(page, FR, false);
    await landing.goto();
    await landing.switchLanguage(EN);
    await expect(new LandingPage(page, EN).tagline).toBeVisible();
  });
});
