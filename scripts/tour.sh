# The demo's tour of every email (sourced by `scripts/run --tour`, after the demo is up).
#
# Each step does what a customer, the schedule or the bank would do, through the
# running server, its CLI and the local Stripe peer, then waits for the emails it
# causes to reach the mail catcher (read through maildev's API at $TOUR_MAIL when
# set) and prints them. Needs: $DEMO_BASE, $DEMO_PEER, $DEMO_JAR, $bin (the server
# binary, run with the demo's environment) and lib.sh.
#
#   1. the demo starts       invitation (Chloé), plan summary (Alice, Bruno), 3D Secure (Bruno)
#   2. the due-date run      receipt (Alice)
#   3. a card that runs out  Alice replaces her card with one expiring this month; the daily
#                            notices three days before her next debit: reminder, card warning
#   4. a declined payment    Bruno replaces his card with one the bank declines and pays:
#                            payment failed, with the reason and a link (Bruno)
#   5. a plan in default     Bruno tries until the retry schedule is spent: plan in default
#                            (Bruno), and the same told to the admin
#   6. a plan completed      Alice pays ahead what is left: receipts, plan completed (Alice)
#   7. a dispute             Alice's bank opens a dispute on her first payment: the admin is emailed

# The emails of kind $1 to $2 in the mail catcher (0 when there is no mail catcher to read).
tour_count() { # kind, recipient
  [ -n "${TOUR_MAIL:-}" ] || { echo 0; return; }
  curl -fsS "$TOUR_MAIL/email" | python3 -c '
import json, sys
kind, to = sys.argv[1], sys.argv[2]
print(sum(
    1 for m in json.load(sys.stdin)
    if m.get("headers", {}).get("x-echeancier-dedup", "").startswith(kind + ":")
    and any(a.get("address") == to for a in m.get("to", []))
))' "$1" "$2"
}

# Waits until the mail catcher holds more than $3 emails of kind $1 to $2, and says so.
tour_expect() { # kind, recipient, count before the step
  local deadline=$((SECONDS + 60))
  [ -n "${TOUR_MAIL:-}" ] || { log "tour:   $1 → $2"; return; }
  until (($(tour_count "$1" "$2") > $3)); do
    ((SECONDS < deadline)) || die "tour: no $1 email reached $2 in the mail catcher"
    sleep 1
  done
  log "tour:   ✓ $1 → $2"
}

# The logged-in customer's échéances of status $1, by due date, one id a line.
tour_echeances() { # status
  demo_api checkout | python3 -c '
import json, sys
for e in json.load(sys.stdin)["echeances"]:
    if e["status"] == sys.argv[1]:
        print(e["id"])' "$1"
}

# The succeeded PaymentIntent at the peer that collected échéance $1.
tour_payment_intent() { # échéance id
  curl -fsS -u "$STRIPE_SECRET_KEY:" "$DEMO_PEER/v1/payment_intents?limit=100" | python3 -c '
import json, sys
print(next(pi["id"] for pi in json.load(sys.stdin)["data"]
           if pi["metadata"].get("echeance_id") == sys.argv[1] and pi["status"] == "succeeded"))' "$1"
}

# The due date (YYYY-MM-DD) of the logged-in customer's first échéance still to pay.
tour_next_due() {
  demo_api checkout | python3 -c '
import json, sys
print(min(e["due_date"] for e in json.load(sys.stdin)["echeances"] if e["status"] == "a_payer"))'
}

tour_pay() { # échéance id → its status after « Payer »
  demo_api pay "echeance_id=$1" | json_field '["status"]'
}

run_tour() {
  local alice=alice@echeancier.test bruno=bruno@echeancier.test admin=admin@echeancier.test
  local before before2 first ids id status month year next
  rm -f "$DEMO_JAR"

  log "tour 1/7: the demo started: Chloé's invitation, each plan's summary, Bruno's 3D Secure link"
  tour_expect invitation chloe@echeancier.test 0
  tour_expect plan_summary "$alice" 0
  tour_expect plan_summary "$bruno" 0
  tour_expect authentication_required "$bruno" 0

  log "tour 2/7: the due-date run (server charge-due) collects Alice's échéance due today"
  before=$(tour_count payment_received "$alice")
  "$bin" charge-due
  tour_expect payment_received "$alice" "$before"

  log "tour 3/7: Alice replaces her card with one that expires this month; the daily notices run"
  log "          three days before her next debit (server notices --date …)"
  # Dates on the server's calendar (the schedule's time zone), not this shell's: the next debit
  # is Alice's first échéance still to pay, due 30 days after the one collected today.
  demo_api login "email=$alice" password=alice-demo-2026 >/dev/null
  next=$(tour_next_due)
  month=$(date -d "$next -30 days" +%-m) year=$(date -d "$next -30 days" +%Y)
  demo_login_with_card "$alice" alice-demo-2026 4242424242424242 "$month" "$year"
  before=$(tour_count upcoming_debit "$alice") before2=$(tour_count card_expiring "$alice")
  "$bin" notices --date "$(date -d "$next -3 days" +%F)"
  tour_expect upcoming_debit "$alice" "$before"
  tour_expect card_expiring "$alice" "$before2"
  rm -f "$DEMO_JAR"

  log "tour 4/7: Bruno replaces his card with one his bank declines (4000 0000 0000 0341) and pays"
  demo_login_with_card "$bruno" bruno-demo-2026 4000000000000341
  first=$(tour_echeances a_payer | tail -1)
  before=$(tour_count payment_failed "$bruno")
  status=$(tour_pay "$first")
  [ "$status" = echouee ] || die "tour: Bruno's payment should be declined (echouee), not $status"
  tour_expect payment_failed "$bruno" "$before"

  log "tour 5/7: Bruno tries again until the retry schedule is spent: his plan is in default"
  before=$(tour_count plan_in_default "$bruno") before2=$(tour_count admin_plan_in_default "$admin")
  for _ in 1 2 3 4 5; do
    status=$(tour_pay "$first")
    [ "$status" = echouee ] || break
  done
  [ "$status" = echouee_definitive ] || die "tour: Bruno's échéance should have failed for good, not be $status"
  tour_expect plan_in_default "$bruno" "$before"
  tour_expect admin_plan_in_default "$admin" "$before2"
  rm -f "$DEMO_JAR"

  log "tour 6/7: Alice pays ahead what is left of her plan"
  demo_api login "email=$alice" password=alice-demo-2026 >/dev/null
  before=$(tour_count plan_completed "$alice")
  ids=$(tour_echeances a_payer)
  for id in $ids; do
    status=$(tour_pay "$id")
    [ "$status" = payee ] || die "tour: Alice's échéance $id is $status after paying"
  done
  tour_expect plan_completed "$alice" "$before"

  log "tour 7/7: Alice's bank opens a dispute on the échéance collected at step 2"
  first=$(tour_echeances payee | sed -n 3p)
  before=$(tour_count admin_dispute_opened "$admin")
  curl -fsS -u "$STRIPE_SECRET_KEY:" -X POST "$DEMO_PEER/_config/payment_intents/$(tour_payment_intent "$first")/dispute" >/dev/null
  tour_expect admin_dispute_opened "$admin" "$before"
  rm -f "$DEMO_JAR"
  log "tour: done${TOUR_MAIL:+, every email above is in the mail catcher ($TOUR_MAIL)}"
}
