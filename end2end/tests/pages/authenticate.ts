import { expect } from '@playwright/test';
import { PageObject } from './base';

/** `/payment/authenticate/{pi}[?token=…]`: what is being paid, the bank's 3D Secure, the outcome. */
export class AuthenticatePage extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: this.tx.authTitle });
  /** The amount being paid (a `<dd>`: no accessible name of its own). */
  readonly amount = this.page.getByTestId('auth-amount');
  /** Success or « already paid » (`role=status`). */
  readonly success = this.page.getByRole('status');
  /** Failure, or the whole-page error (forbidden, expired link) (`role=alert`). */
  readonly alert = this.page.getByRole('alert');
  readonly retry = this.page.getByRole('button', { name: this.tx.authRetry });
  /** The message shown when JavaScript is off (CSS: Playwright's text and role engines skip `<noscript>`). */
  readonly noscript = this.page.locator('noscript > p');
  /** The échéance's status badge. */
  readonly badge = this.page.locator('.badge[data-status]');
  /** The buttons of the peer's fake Stripe.js 3D Secure modal. */
  readonly completeAuthentication = this.page.getByRole('button', { name: 'Complete authentication' });
  readonly failAuthentication = this.page.getByRole('button', { name: 'Fail authentication' });

  /** Opens `path` and returns the HTTP status of the answer. */
  async goto(path: string): Promise<number | undefined> {
    const response = await this.page.goto(path);
    return response?.status();
  }

  async complete(): Promise<void> {
    await this.completeAuthentication.click();
    await expect(this.success).toContainText(this.tx.authSuccess);
  }

  /** Checks the page holds nothing about the PaymentIntent: no client secret, no amount. */
  async expectNothingLeaked(amount?: string): Promise<void> {
    const html = await this.page.content();
    expect(html).not.toContain('_secret_');
    if (amount) expect(html).not.toContain(amount);
  }
}
