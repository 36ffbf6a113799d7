import { expect, Page } from '@playwright/test';
import { Account } from '../support';
import { PageObject } from './base';
import { FR, Texts } from './texts';

/** `/` for visitors: what the product is, the login form, the demo accounts, the language link. */
export class LandingPage extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: 'Échéancier', level: 1 });
  readonly tagline = this.page.getByText(this.tx.tagline);
  /** The login form (the ways back in below it have address fields of their own). */
  readonly loginForm = this.page.getByTestId('login');
  readonly email = this.loginForm.getByLabel(this.tx.email);
  readonly password = this.loginForm.getByLabel(this.tx.password);
  readonly submit = this.page.getByRole('button', { name: this.tx.login, exact: true });
  readonly showPasswords = this.page.getByRole('button', { name: this.tx.showPasswords });
  readonly hidePasswords = this.page.getByRole('button', { name: this.tx.hidePasswords });
  readonly otherLanguage = this.page.getByRole('link', { name: this.tx.otherLanguage, exact: true });
  /** `data-hydrated` says whether the WASM took over the page. */
  readonly hydration = this.page.locator('[data-hydrated]');

  /** `js`: whether this page's browser runs JavaScript (then actions wait for hydration). */
  constructor(
    page: Page,
    tx: Texts = FR,
    readonly js = true,
  ) {
    super(page, tx);
  }

  async goto(): Promise<void> {
    await this.page.goto('/');
    if (this.js) await expect(this.hydration).toHaveAttribute('data-hydrated', 'true');
  }

  /** Sends the login form with `who`'s address and password (the page behind it is the caller's). */
  async submitCredentials(who: Account): Promise<void> {
    await this.goto();
    await this.email.fill(who.email);
    await this.password.fill(who.password);
    await this.submit.click();
  }

  /** Logs in through the form and waits for the page behind it (hydrated when JavaScript runs). */
  async login(who: Account): Promise<void> {
    await this.submitCredentials(who);
    const landed = this.page.getByRole('heading', { name: who.admin ? this.tx.adminTitle : this.tx.myEcheances });
    await expect(landed).toBeVisible();
    if (!who.admin) await expect(landed).toHaveAttribute('data-hydrated', this.js ? 'true' : 'false');
  }

  /** Follows the header's language link (`/lang/{code}` sets the `lang` cookie and comes back). */
  async switchLanguage(to: Texts): Promise<void> {
    await this.otherLanguage.click();
    await expect(this.page.locator('html')).toHaveAttribute('lang', to.lang);
  }
}

/** Logs `who` in through the landing page's form (French, JavaScript on unless told). */
export async function login(page: Page, who: Account, tx: Texts = FR, js = true): Promise<void> {
  await new LandingPage(page, tx, js).login(who);
}
