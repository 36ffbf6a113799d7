import { expect } from '@playwright/test';
import { PageObject } from './base';
import { CheckoutPage, fillCard } from './checkout';

/** `/plans/{id}/accept?token=…`: the schedule, the mandate, « J’accepte », then the card. */
export class InvitationPage extends PageObject {
  readonly heading = this.page.getByRole('heading', { name: 'Votre échéancier' });
  /** The schedule (no accessible name of its own). */
  readonly rows = this.page.getByTestId('invitation-echeances').locator('tbody tr');
  readonly total = this.page.getByTestId('invitation-total');
  readonly mandate = this.page.getByTestId('mandate');
  readonly accept = this.page.getByRole('button', { name: 'J’accepte l’échéancier et j’autorise ces prélèvements' });
  /** After « J’accepte »: `data-status` is the plan's status as the server has it. */
  readonly accepted = this.page.getByTestId('plan-accepted');
  /** The warning shown when the card expires before the plan's last échéance. */
  readonly shortLivedCard = this.page.getByTestId('card-short-lived');
  /** « Payer maintenant … » for a first échéance already due (« Payer … et enregistrer la carte » when no card is
   *  saved yet), and its success. */
  readonly payFirst = this.page.getByTestId('pay-first-button');
  readonly firstPaid = this.page.getByRole('status').filter({ hasText: 'Première échéance payée' });
  readonly toPortal = this.page.getByRole('link', { name: 'Voir mes échéances' });
  readonly alert = this.page.getByRole('alert');
  /** The card panel is the portal's own. */
  readonly card = new CheckoutPage(this.page);

  /** No card saved and the first échéance due: types `number` into the peer's Stripe Elements beside « Payer … et
   *  enregistrer la carte » and presses it (one payment pays the échéance and saves the card). */
  async payFirstWithCard(number: string): Promise<void> {
    await fillCard(this.page.locator('#first-card-element'), number);
    await this.payFirst.click();
  }

  /** Opens the emailed link and waits for the WASM; returns the HTTP status. */
  async goto(link: string): Promise<number | undefined> {
    const response = await this.page.goto(link);
    if (response?.ok()) await expect(this.heading).toHaveAttribute('data-hydrated', 'true');
    return response?.status();
  }
}
