"""Starts localstripe, the local Stripe peer, for development and tests.

Differences from `localstripe --port N`:
- it listens on 127.0.0.1 only (test traffic never leaves loopback);
- its state lives in this process only, or, when STATE_FILE is given, in that
  file (loaded at start, written atomically after every change) — upstream
  loads and dumps one pickle file shared by every instance on the machine, so
  the demo keeps its Stripe objects beside its own database instead;
- its fake Stripe.js is served inside a block: upstream, its top-level
  `class Element` shadows the DOM's global `Element` for every script of the
  page, which breaks `instanceof Element` checks (and so Leptos' hydration).
  Real Stripe.js declares no such global; the block keeps the fake as harmless;
- its store is indexed by object type: upstream, every list scans the whole
  store, and every charge's export lists its refunds that way, so reading one
  PaymentIntent costs a scan of every object ever made and listing them all
  grows with the square of the store (measured: 194 creates/s with 500
  PaymentIntents stored, 60/s with 1,500; a full list 1.4 s, then 11.8 s);
- `GET /v1/payment_intents` takes Stripe's `customer` and `created` filters
  (upstream refuses them) and answers newest first, as Stripe does;
- `POST /v1/payment_intents` takes Stripe's `setup_future_usage`
  (`off_session` or `on_session`; upstream refuses it), shows it on the
  PaymentIntent (null when not set) and, once the payment succeeds, attaches
  its PaymentMethod to its customer, as Stripe does;
- `POST /v1/refunds` takes Stripe's `reason` (`duplicate`, `fraudulent`,
  `requested_by_customer`; upstream refuses it), names its PaymentIntent,
  refuses more than is left to refund (`amount_too_large`,
  `charge_already_refunded`), refunds what is left when no amount is given, and sends `refund.created` and `charge.refunded`
  as Stripe does (upstream sends no event for a refund);
- a refund can fail afterwards, as the bank decides it
  (`POST /_config/refunds/{id}/fail`): its status becomes `failed` with a
  `failure_reason`, the charge no longer counts it, and Stripe's
  `refund.failed` and `charge.refund.updated` are sent (none with
  `?events=none`);
- Stripe's card updater (`POST /_config/payment_methods/{id}/update_card` with
  `exp_month`, `exp_year`, `last4`): the card keeps its id and shows the new
  details on every read, and `payment_method.automatically_updated` is sent;
  a detached card sends `payment_method.detached`, as Stripe does (upstream
  sends neither);
- `POST /v1/payment_intents/{id}/confirm` takes Stripe's `payment_method` on a PaymentIntent
  waiting for one (`requires_payment_method`, after a decline) or for its confirmation: the
  payment is tried again with that card (upstream: "Not implemented"); any other status is
  refused with Stripe's `payment_intent_unexpected_state`;
- disputes, which upstream does not have: `POST /_config/payment_intents/{id}/dispute`
  opens one on the PaymentIntent's charge (`needs_response`, evidence due in 7 days) and
  `POST /_config/disputes/{id}/review` says the merchant's evidence reached the bank
  (`under_review`, as when it is sent from Stripe's Dashboard) and
  `POST /_config/disputes/{id}/close` with `outcome=won|lost` decides it, each sending
  Stripe's `charge.dispute.created` / `charge.dispute.updated` / `charge.dispute.closed`; `GET /v1/disputes` (with
  Stripe's `created` filter, newest first) and `GET /v1/disputes/{id}` read them;
- its fake Stripe.js has `createPaymentMethod({type: 'card', card: element})`
  (upstream: an empty stub), backed by `POST /v1/payment_methods` with the
  publishable key, as Stripe.js calls it, and `handleNextAction({clientSecret})`
  (upstream has none): the fake's 3D Secure window on a PaymentIntent that
  waits in `requires_action`, confirming nothing (its console says which was called).

Usage: stripe_peer.py PORT [STATE_FILE]
"""

import logging
import os
import pickle
import socket
import sys

from aiohttp import web

import localstripe
from localstripe import resources
from localstripe.webhooks import schedule_webhook

STATE_FILE = sys.argv[2] if len(sys.argv) > 2 else None


def dump_to_disk(store: resources.Store) -> None:
    if STATE_FILE is None:
        return
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, STATE_FILE)


def load_from_disk(store: resources.Store) -> None:
    if STATE_FILE is None or not os.path.exists(STATE_FILE):
        return
    with open(STATE_FILE, "rb") as f:
        saved = pickle.load(f)
    dict.clear(store)
    dict.update(store, saved)
    reindex(store)


resources.Store.dump_to_disk = dump_to_disk
resources.Store.try_load_from_disk = load_from_disk

# The store's objects by type ("payment_intent" -> {"payment_intent:pi_…": object}),
# in the store's own order, kept by every write to the store.
BY_TYPE: dict = {}


def type_of(key):
    return key.split(":", 1)[0] if ":" in key else None


def reindex(store) -> None:
    BY_TYPE.clear()
    for key, value in dict.items(store):
        if type_of(key):
            BY_TYPE.setdefault(type_of(key), {})[key] = value


def store_setitem(self, key, value):
    dict.__setitem__(self, key, value)
    if type_of(key):
        BY_TYPE.setdefault(type_of(key), {})[key] = value
    self.dump_to_disk()


def store_delitem(self, key):
    dict.__delitem__(self, key)
    BY_TYPE.get(type_of(key), {}).pop(key, None)
    self.dump_to_disk()


def store_clear(self):
    dict.clear(self)
    BY_TYPE.clear()


resources.Store.__setitem__ = store_setitem
resources.Store.__delitem__ = store_delitem
resources.Store.clear = store_clear


@classmethod
def list_all(cls, url, limit=None, starting_after=None, **kwargs):
    """Upstream's listing of one type, read from the index instead of a scan of the store."""
    if kwargs:
        raise resources.UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    li = resources.List(url, limit=limit, starting_after=starting_after)
    li._list = list(BY_TYPE.get(cls.object, {}).values())
    return li


resources.StripeObject._api_list_all = list_all


def created_bounds(created):
    """Stripe's `created` filter: a timestamp, or any of gt/gte/lt/lte."""
    if created is None:
        return []
    if isinstance(created, str):
        created = {"eq": created}
    if not isinstance(created, dict) or not created:
        raise resources.UserError(400, "Invalid created filter")
    tests = {
        "eq": lambda c, b: c == b,
        "gt": lambda c, b: c > b,
        "gte": lambda c, b: c >= b,
        "lt": lambda c, b: c < b,
        "lte": lambda c, b: c <= b,
    }
    bounds = []
    for op, value in created.items():
        bound = resources.try_convert_to_int(value)
        if op not in tests or not isinstance(bound, int):
            raise resources.UserError(400, "Invalid created filter")
        bounds.append((tests[op], bound))
    return bounds


@classmethod
def list_payment_intents(cls, url, customer=None, created=None, limit=None, starting_after=None, **kwargs):
    """`GET /v1/payment_intents` with Stripe's `customer` and `created` filters, newest first."""
    if customer is not None and not (isinstance(customer, str) and customer.startswith("cus_")):
        raise resources.UserError(400, "Invalid customer")
    bounds = created_bounds(created)
    limit = resources.try_convert_to_int(limit)
    if limit is not None and not (isinstance(limit, int) and 1 <= limit <= 100):
        raise resources.UserError(400, "Invalid limit: must be between 1 and 100")
    li = list_all.__func__(cls, url, limit=limit, starting_after=starting_after, **kwargs)
    items = [
        pi
        for pi in li._list
        if (customer is None or pi.customer == customer) and all(test(pi.created, b) for test, b in bounds)
    ]
    # Newest first; for equal timestamps, the later made first (the store keeps making order).
    items.reverse()
    items.sort(key=lambda pi: pi.created, reverse=True)
    if starting_after is not None and not any(pi.id == starting_after for pi in items):
        raise resources.UserError(400, "No such payment_intent: '%s'" % starting_after)
    li._list = items
    return li


resources.PaymentIntent._api_list_all = list_payment_intents

upstream_payment_intent_init = resources.PaymentIntent.__init__
upstream_payment_intent_on_success = resources.PaymentIntent._on_success


def payment_intent_init(self, setup_future_usage=None, **kwargs):
    if setup_future_usage not in (None, "off_session", "on_session"):
        raise resources.UserError(400, "Invalid setup_future_usage: must be one of off_session, on_session")
    upstream_payment_intent_init(self, **kwargs)
    self.setup_future_usage = setup_future_usage


def payment_intent_on_success(self):
    # Stripe saves the card for the customer when the payment that asked for it succeeds.
    if getattr(self, "setup_future_usage", None) and self.customer and self.payment_method:
        payment_method = resources.PaymentMethod._api_retrieve(self.payment_method)
        if getattr(payment_method, "customer", None) is None:
            payment_method.customer = self.customer
    upstream_payment_intent_on_success(self)


resources.PaymentIntent.__init__ = payment_intent_init
resources.PaymentIntent._on_success = payment_intent_on_success

upstream_payment_intent_confirm = resources.PaymentIntent._api_confirm.__func__


def payment_intent_confirm(cls, id, payment_method=None, **kwargs):
    # Stripe confirms a PaymentIntent waiting for a payment method with a new one (a declined
    # payment tried again with another card); upstream answers "Not implemented".
    if payment_method is not None:
        obj = cls._api_retrieve(id)
        if obj.status not in ("requires_payment_method", "requires_confirmation"):
            raise resources.UserError(
                400,
                f"You cannot confirm this PaymentIntent because it has a status of {obj.status}.",
                {"code": "payment_intent_unexpected_state"},
            )
        resources.PaymentMethod._api_retrieve(payment_method)  # 404 when there is none
        obj.payment_method = payment_method
        obj.latest_charge = None  # the declined charge stays a charge of its own; the new one replaces it
    return upstream_payment_intent_confirm(cls, id, **kwargs)


resources.PaymentIntent._api_confirm = classmethod(payment_intent_confirm)

upstream_refund_init = resources.Refund.__init__
REFUND_REASONS = (None, "duplicate", "fraudulent", "requested_by_customer")


def refund_init(self, reason=None, **kwargs):
    if reason not in REFUND_REASONS:
        raise resources.UserError(400, "Invalid reason: must be one of duplicate, fraudulent or requested_by_customer")
    charge_id = kwargs.get("charge")
    if kwargs.get("payment_intent") is not None:
        pi = resources.PaymentIntent._api_retrieve(kwargs["payment_intent"])
        charge_id = pi.latest_charge.id if pi.latest_charge else None
    if charge_id is not None:
        charge = resources.Charge._api_retrieve(charge_id)
        left = charge.amount - charge.amount_refunded
        wanted = resources.try_convert_to_int(kwargs.get("amount"))
        if charge.status == "succeeded" and left <= 0:
            raise resources.UserError(400, "Charge has already been refunded.", {"code": "charge_already_refunded"})
        if isinstance(wanted, int) and wanted > left:
            raise resources.UserError(
                400, "Refund amount is greater than unrefunded amount on charge.", {"code": "amount_too_large"}
            )
        if wanted is None and charge.status == "succeeded":
            kwargs["amount"] = left  # Stripe refunds what is left, not the whole charge again
    upstream_refund_init(self, **kwargs)
    self.reason = reason
    self.failure_reason = None
    charge = resources.Charge._api_retrieve(self.charge)
    if self.payment_intent is None:
        self.payment_intent = getattr(charge, "payment_intent", None)
    resources.store.dump_to_disk()
    schedule_webhook(resources.Event("refund.created", self))
    schedule_webhook(resources.Event("charge.refunded", charge))


def charge_amount_refunded(self):
    # A refund that failed gave the money back to the merchant: it no longer counts.
    return sum(r.amount for r in self.refunds._list if getattr(r, "status", "succeeded") != "failed")


upstream_payment_method_detach = resources.PaymentMethod._api_detach.__func__


def payment_method_detach(cls, id, **kwargs):
    obj = upstream_payment_method_detach(cls, id, **kwargs)
    schedule_webhook(resources.Event("payment_method.detached", obj))
    return obj


resources.PaymentMethod._api_detach = classmethod(payment_method_detach)
# The routes were listed with the methods themselves when resources.py was read: list the new ones.
patched_routes = {
    "/v1/payment_methods/{id}/detach": resources.PaymentMethod._api_detach,
    "/v1/payment_intents/{id}/confirm": resources.PaymentIntent._api_confirm,
}
resources.extra_apis[:] = [(method, url, patched_routes.get(url, func)) for method, url, func in resources.extra_apis]
resources.Refund.__init__ = refund_init
resources.Charge.amount_refunded = property(charge_amount_refunded)

from localstripe.server import app, get_api_key, get_post_data, json_response, unflatten_data  # noqa: E402  (after the patches above)

JS_PATH = "/js.stripe.com/v3/"

# Appended inside the fake's block: `createPaymentMethod` as Stripe.js has it.
CREATE_PAYMENT_METHOD_JS = """
{
  const fakeStripe = Stripe;
  Stripe = (apiKey) => {
    const stripe = fakeStripe(apiKey);
    stripe.createPaymentMethod = async (data) => {
      try {
        const element = data.card;
        const card = element && element.value ? element.value.card : element;
        const postal_code = element && element.value ? element.value.postal_code : undefined;
        const response = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_methods`, {
          method: 'POST',
          body: JSON.stringify({
            key: apiKey,
            type: data.type || 'card',
            card,
            billing_details: data.billing_details || {address: {postal_code}},
          }),
        });
        const body = await response.json().catch(() => ({}));
        if (response.status !== 200 || body.error) {
          return {error: body.error || {message: `HTTP ${response.status}`}};
        }
        return {paymentMethod: body};
      } catch (err) {
        return {error: err};
      }
    };
    // Stripe.js's `handleNextAction({clientSecret})`: the bank's 3D Secure on a PaymentIntent
    // already confirmed (`requires_action`), confirming nothing. The fake's window and
    // `_authenticate`, as its `confirmCardPayment` uses them.
    stripe.handleNextAction = async ({clientSecret}) => {
      console.log('localstripe: Stripe().handleNextAction()');
      try {
        const success = await openModal(
          '3D Secure\\nDo you want to confirm or cancel?', 'Complete authentication', 'Fail authentication');
        const pi = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
        const response = await fetch(
          `${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}/_authenticate?success=${success}`, {
            method: 'POST',
            body: JSON.stringify({key: apiKey, client_secret: clientSecret}),
          });
        const body = await response.json().catch(() => ({}));
        if (response.status !== 200 || body.error) {
          return {error: body.error || {message: `HTTP ${response.status}`}};
        }
        return {paymentIntent: body};
      } catch (err) {
        return (typeof err === 'object' && err.error) ? err : {error: err};
      }
    };
    return stripe;
  };
}
"""


@web.middleware
async def scoped_stripe_js(request, handler):
    if request.path != JS_PATH:
        return await handler(request)
    with open(os.path.join(os.path.dirname(localstripe.__file__), "localstripe-v3.js")) as f:
        source = f.read()
    return web.Response(
        text="{\n" + source + "\n" + CREATE_PAYMENT_METHOD_JS + "}\n", content_type="application/javascript"
    )


@web.middleware
async def payment_method_with_publishable_key(request, handler):
    """`POST /v1/payment_methods` as Stripe.js sends it: authenticated by the publishable key in the body."""
    if not (request.method == "POST" and request.path == "/v1/payment_methods") or get_api_key(request):
        return await handler(request)
    data = await get_post_data(request, remove_auth=False) or {}
    key = data.pop("key", None)
    if not (isinstance(key, str) and key.startswith("pk_")):
        raise resources.UserError(401, "Unauthorized")
    data.pop("payment_user_agent", None)
    return json_response(resources.PaymentMethod._api_create(**data)._export())


async def fail_refund(request):
    """The bank could not send refund `id` back (Stripe: `refund.failed`)."""
    refund = resources.Refund._api_retrieve(request.match_info["id"])
    if refund.status != "failed":
        refund.status = "failed"
        refund.failure_reason = "expired_or_canceled_card"
        resources.store.dump_to_disk()
        # `?events=none`: a failure whose events never come out (what the reconciler alone must find).
        if request.query.get("events") != "none":
            schedule_webhook(resources.Event("refund.failed", refund))
            schedule_webhook(resources.Event("charge.refund.updated", refund))
    return json_response(refund._export())


async def update_card(request):
    """Stripe's card updater: the card network gave card `id` a new expiry (or number)."""
    payment_method = resources.PaymentMethod._api_retrieve(request.match_info["id"])
    data = await get_post_data(request) or {}
    for field in ("exp_month", "exp_year"):
        if field in data:
            payment_method.card[field] = int(data[field])
    if "last4" in data:
        payment_method.card["last4"] = str(data["last4"])
    resources.store.dump_to_disk()
    schedule_webhook(resources.Event("payment_method.automatically_updated", payment_method))
    return json_response(payment_method._export())


class Dispute(resources.StripeObject):
    """A cardholder's dispute of a charge (Stripe's `dispute`); opened by the bank, never by the API."""

    object = "dispute"
    _id_prefix = "dp_"

    def __init__(self, payment_intent):
        charge = payment_intent.latest_charge
        if charge is None or charge.status != "succeeded":
            raise resources.UserError(400, "Only a succeeded payment can be disputed")
        super().__init__()
        self.payment_intent = payment_intent.id
        self.charge = charge.id
        self.amount = charge.amount
        self.currency = charge.currency
        self.reason = "fraudulent"
        self.status = "needs_response"
        self.is_charge_refundable = False
        self.metadata = {}
        self.evidence_details = {
            "due_by": self.created + 7 * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        }

    @classmethod
    def _api_create(cls, **data):
        raise resources.UserError(405, "Method Not Allowed")

    @classmethod
    def _api_list_all(cls, url, created=None, limit=None, starting_after=None, **kwargs):
        bounds = created_bounds(created)
        li = list_all.__func__(cls, url, limit=resources.try_convert_to_int(limit), starting_after=starting_after, **kwargs)
        li._list = [d for d in reversed(li._list) if all(test(d.created, b) for test, b in bounds)]
        li._list.sort(key=lambda d: d.created, reverse=True)
        return li


def list_disputes(request):
    data = unflatten_data(request.query)
    return json_response(Dispute._api_list_all("/v1/disputes", **data)._export())


def retrieve_dispute(request):
    return json_response(Dispute._api_retrieve(request.match_info["id"])._export())


async def open_dispute(request):
    """The cardholder disputes the payment of PaymentIntent `id` with their bank."""
    dispute = Dispute(resources.PaymentIntent._api_retrieve(request.match_info["id"]))
    resources.store.dump_to_disk()
    schedule_webhook(resources.Event("charge.dispute.created", dispute))
    return json_response(dispute._export())


async def review_dispute(request):
    """The merchant's evidence for dispute `id` reached the bank: an open one is under review."""
    dispute = Dispute._api_retrieve(request.match_info["id"])
    moved = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}
    if dispute.status in moved:
        dispute.status = moved[dispute.status]
        dispute.evidence_details["has_evidence"] = True
        dispute.evidence_details["submission_count"] += 1
        resources.store.dump_to_disk()
        schedule_webhook(resources.Event("charge.dispute.updated", dispute))
    return json_response(dispute._export())


async def close_dispute(request):
    """The bank decides dispute `id`: `outcome=won` (the money stays) or `lost`."""
    dispute = Dispute._api_retrieve(request.match_info["id"])
    data = await get_post_data(request) or {}
    outcome = data.get("outcome")
    if outcome not in ("won", "lost"):
        raise resources.UserError(400, "outcome must be won or lost")
    if dispute.status not in ("won", "lost"):
        dispute.status = outcome
        dispute.evidence_details["due_by"] = None
        resources.store.dump_to_disk()
        schedule_webhook(resources.Event("charge.dispute.closed", dispute))
    return json_response(dispute._export())


app.router.add_get("/v1/disputes", list_disputes)
app.router.add_get("/v1/disputes/{id}", retrieve_dispute)
app.router.add_post("/_config/payment_intents/{id}/dispute", open_dispute)
app.router.add_post("/_config/disputes/{id}/review", review_dispute)
app.router.add_post("/_config/disputes/{id}/close", close_dispute)
app.router.add_post("/_config/refunds/{id}/fail", fail_refund)
app.router.add_post("/_config/payment_methods/{id}/update_card", update_card)
app.middlewares.append(scoped_stripe_js)
# After the error middleware (which words a UserError), before the one that wants the secret key.
app.middlewares.insert(1, payment_method_with_publishable_key)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
    load_from_disk(resources.store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.WARNING)
    logger.addHandler(logging.StreamHandler())
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
