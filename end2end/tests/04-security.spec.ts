import { expect, test } from './fixtures';
import { AuthenticatePage } from './pages/authenticate';
import { CARDS, customerWithCard } from './pages/checkout';
import { login } from './pages/landing';
import { callServerFn, Customer, seedCustomer } from './support';

test.describe.serial('one customer cannot reach another', () => {
  let owner: Customer;
  let other: Customer;
  let path = '';

  test.beforeAll(() => {
    other = seedCustomer('other', [{ cents: 30_000 }]);
  });

  test('a customer leaves an échéance waiting for 3D Secure', async ({ page }) => {
    const arranged = await customerWithCard(page, 'owner', CARDS.threeDS, [{ cents: 12_550 }]);
    owner = arranged.customer;
    const [echeance] = owner.echeances;
    path = await arranged.checkout.payIntoAuthentication(echeance.label);
  });

  test('another customer cannot open their 3DS page: not found, and nothing about the PaymentIntent', async ({ page }) => {
    await login(page, other);
    const authenticate = new AuthenticatePage(page);
    // Not found, as for a PaymentIntent that does not exist: ids cannot be probed.
    expect(await authenticate.goto(path)).toBe(404);
    await expect(authenticate.alert).toContainText('Cet élément est introuvable');
    await authenticate.expectNothingLeaked('125,50');
    await expect(authenticate.completeAuthentication).toHaveCount(0);
  });

  test('another customer cannot call their server functions (404, no data; 403 for an admin one)', async ({ page }) => {
    await login(page, other);
    const echeance_id = owner.echeances[0].id;
    const pay = await callServerFn(page, '/api/pay', { echeance_id });
    expect(pay.status()).toBe(404);
    expect(await pay.text()).not.toContain('pi_');
    const page3ds = await callServerFn(page, '/api/authenticate/page', { payment_intent_id: path.split('/').pop() ?? '' });
    expect(page3ds.status()).toBe(404);
    expect(await page3ds.text()).not.toContain('secret');
    const admin = await callServerFn(page, '/api/admin/timeline', { echeance_id });
    expect(admin.status()).toBe(403);
  });

  test('a forged link token is refused with a clear page', async ({ page }) => {
    // Nobody logged in: only the token could open the page.
    const authenticate = new AuthenticatePage(page);
    expect(await authenticate.goto(`${path}?token=9999999999.forged`)).toBe(410);
    await expect(authenticate.alert).toContainText("Ce lien n'est plus valide");
    await authenticate.expectNothingLeaked();
  });
});
