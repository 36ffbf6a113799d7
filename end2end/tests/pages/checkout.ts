import { Browser, expect, Locator, Page } from '@playwright/test';
import { Customer, SeedEcheance, seedCustomer, withJavaScript } from '../support';
import { PageObject } from './base';
import { login } from './landing';

/** `/` for a logged-in customer: « Mes échéances », the card panel, one row per échéance. */
export class CheckoutPage extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: this.tx.myEcheances });
  /** The polite messages (`role=status`): paid, card saved… */
  readonly status = this.page.getByRole('status');
  /** The errors (`role=alert`): declined… */
  readonly alert = this.page.getByRole('alert');
  /** « Enregistrer une carte », or « Remplacer la carte » once there is one. */
  readonly openCardForm = this.page
    .getByRole('button', { name: this.tx.addCard, exact: true })
    .or(this.page.getByRole('button', { name: this.tx.replaceCard, exact: true }));
  readonly saveCardButton = this.page.getByRole('button', { name: this.tx.saveCard, exact: true });
  /** The peer's fake Stripe.js modal (3D Secure while saving a card). */
  readonly completeAuthentication = this.page.getByRole('button', { name: 'Complete authentication' });

  /**
   * Opens the portal and waits until the WASM has taken it over (`hydrated`, the default) or,
   * with JavaScript off, until the server's page is there: a click on the server's HTML before
   * the page's WASM chunks have loaded would be lost.
   */
  async goto(hydrated = true): Promise<void> {
    await this.page.goto('/');
    await expect(this.heading).toHaveAttribute('data-hydrated', hydrated ? 'true' : 'false');
  }

  /** The row of the échéance labelled `label` (« Échéance 1/2 »); its `data-status` is the database status. */
  row(label: string): Locator {
    return this.page.getByRole('row', { name: label });
  }

  payButton(label: string): Locator {
    return this.row(label).getByRole('button', { name: this.tx.pay, exact: true });
  }

  authenticateLink(label: string): Locator {
    return this.row(label).getByRole('link', { name: this.tx.authenticate });
  }

  /** The saved card line (« VISA •••• 4242 — expire fin 12/34 »). */
  savedCard(last4: string): Locator {
    return this.page.getByText(`•••• ${last4}`);
  }

  /** Saves a card through the peer's Stripe Elements (and its 3DS modal when the card asks for it). */
  async saveCard(number: string): Promise<void> {
    // The button is in the server's HTML before the WASM takes over: a click before that is lost.
    // (The portal's heading, or the invitation's, whose page also saves a card through this.)
    await expect(this.page.locator('[data-hydrated]').first()).toHaveAttribute('data-hydrated', 'true');
    await this.openCardForm.click();
    await fillCard(this.page.locator('#card-element'), number);
    await this.saveCardButton.click();
    const saved = this.savedCard(number.slice(-4));
    await expect(this.completeAuthentication.or(saved)).toBeVisible();
    if (await this.completeAuthentication.isVisible()) {
      await this.completeAuthentication.click();
    }
    await expect(saved).toBeVisible();
  }

  /** Presses « Payer » on `label` and waits for the row to reach `status`. */
  async pay(label: string, status: string): Promise<void> {
    await this.payButton(label).click();
    await expect(this.row(label)).toHaveAttribute('data-status', status);
  }

  /** Presses « Payer » on a row whose card asks for 3D Secure: the page goes straight to the
   *  3DS page of that PaymentIntent (which opens the bank's window). Returns its path. */
  async payIntoAuthentication(label: string): Promise<string> {
    await this.payButton(label).click();
    await expect(this.page).toHaveURL(/\/payment\/authenticate\/pi_/);
    return new URL(this.page.url()).pathname;
  }
}

/** Types card `number` (expiring 12/34) into the peer's Stripe Elements mounted in `element`. */
export async function fillCard(element: Locator, number: string): Promise<void> {
  await element.getByPlaceholder('number').fill(number);
  await element.getByPlaceholder('exp_month').fill('12');
  await element.getByPlaceholder('exp_year').fill('34');
  await element.getByPlaceholder('cvc').fill('123');
  await element.getByPlaceholder('postal_code').fill('75001');
}

/** Test cards of the local peer. */
export const CARDS = {
  succeeds: '4242424242424242',
  /** 3D Secure always required off-session (and for this customer-present charge too). */
  threeDS: '4000002760003184',
  declined: '4000000000000341',
} as const;

/**
 * Arranges a customer of the spec's own with `echeances`, logs them in on `page` and saves `card`:
 * the checkout page, ready to pay.
 */
export async function customerWithCard(
  page: Page,
  who: string,
  card: string,
  echeances: SeedEcheance[] = [{ cents: 30_000 }],
): Promise<{ customer: Customer; checkout: CheckoutPage }> {
  const customer = seedCustomer(who, echeances);
  await login(page, customer);
  const checkout = new CheckoutPage(page);
  await checkout.saveCard(card);
  return { customer, checkout };
}

/** An échéance a customer of its own has just paid with 4242 (in a context of its own): its id. */
export async function paidEcheance(browser: Browser, who: string): Promise<number> {
  return withJavaScript(browser, async (page) => {
    const { customer, checkout } = await customerWithCard(page, who, CARDS.succeeds);
    const [echeance] = customer.echeances;
    await checkout.pay(echeance.label, 'payee');
    return echeance.id;
  });
}
