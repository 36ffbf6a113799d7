# Shared by scripts/run and scripts/test: install what is missing, start local
# services, stop them on exit. Sourced, not executed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# A cargo target directory outside the clone survives fresh clones (CI) and saves every clean build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/echeancier/target}
# cargo-leptos sets this when it builds; setting it for every cargo command keeps one set of artifacts.
export LEPTOS_OUTPUT_NAME=echeancier
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
# The packages (and feature) every test step builds with. One selection for all of them: cargo
# resolves features per selection, and a step with another (`-p server` alone) recompiles tokio,
# axum, sea-orm, leptos… for itself, about three minutes on 2 cores.
TEST_PACKAGES=(-p app --features ssr -p server -p migration)

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

CHILDREN=()
CLEANUPS=()
cleanup() {
  local pid
  for pid in "${CHILDREN[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${CHILDREN[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  local c
  for c in "${CLEANUPS[@]}"; do
    eval "$c" || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_url() { # url [seconds]
  local url=$1 deadline=$((SECONDS + ${2:-60}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || die "$url did not answer in time"
    sleep 0.3
  done
}

apt_install() { # packages...
  log "installing Debian packages: $*"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup first"
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
}

ensure_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 18 minutes on 2 cores, once per machine)"
    cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION" --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal the wasm-bindgen crate)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

CARGO_DENY_VERSION=0.20.2

ensure_cargo_deny() {
  if ! cargo deny --version 2>/dev/null | grep -q "$CARGO_DENY_VERSION"; then
    log "installing cargo-deny $CARGO_DENY_VERSION (a few minutes, once per machine)"
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/tools" cargo install --locked "cargo-deny@$CARGO_DENY_VERSION"
  fi
}

ensure_node_modules() {
  command -v npm >/dev/null || apt_install nodejs npm
  if [ ! -f end2end/node_modules/.package-lock.json ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "installing npm packages (Playwright runner, maildev, binaryen)"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_stripe_peer() {
  if [ ! -x .venv/bin/python ] || ! cmp -s scripts/requirements.txt .venv/.requirements; then
    log "installing localstripe into .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
    cp scripts/requirements.txt .venv/.requirements
  fi
}

ensure_chromium() {
  command -v chromium >/dev/null || apt_install chromium
}

# Starts localstripe on 127.0.0.1:$1, logging to $2; with $3, its state lives in that file.
start_stripe_peer() {
  local port=$1 logfile=$2 state=${3:-}
  .venv/bin/python scripts/stripe_peer.py "$port" ${state:+"$state"} >"$logfile" 2>&1 &
  CHILDREN+=($!)
  wait_for_url "http://127.0.0.1:$port/js.stripe.com/v3/" 30
}

# Registers a signed webhook at the local peer: port, id, url, secret.
register_webhook() {
  curl -fsS -X POST "http://127.0.0.1:$1/_config/webhooks/$2" -d "url=$3" -d "secret=$4" >/dev/null
}

# Starts maildev: smtp port, web port.
start_maildev() {
  maildev --smtp "$1" --web "$2" --ip 127.0.0.1 --silent >"$3" 2>&1 &
  CHILDREN+=($!)
  wait_for_url "http://127.0.0.1:$2/email" 30
}

# Starts a private PostgreSQL on 127.0.0.1 (trust auth, tuned for tests). Sets PG_URL.
start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt_install postgresql
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  local dir port as=()
  dir=$(mktemp -d /tmp/echeancier-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  # Tests trade durability for speed; the bench (`start_postgres durable`) keeps PostgreSQL's defaults.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${1:-}" = durable ] && durability=""
  port=$(free_port)
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U echeancier --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=400" >/dev/null
  CLEANUPS+=("${as[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir")
  PG_URL="postgres://echeancier@127.0.0.1:$port/postgres"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

# Speaking to a running server as a browser would (the demo scripts): a cookie jar
# in $DEMO_JAR, the server at $DEMO_BASE, the local Stripe peer at $DEMO_PEER.
demo_api() { # endpoint, form fields...
  local endpoint=$1 args=(--data '')
  shift
  for field in "$@"; do args+=(--data-urlencode "$field"); done
  curl -fsS -b "$DEMO_JAR" -c "$DEMO_JAR" -H 'accept: application/json' -H "origin: $DEMO_BASE" "${args[@]}" "$DEMO_BASE/api/$endpoint"
}

# Reads one value of the JSON on stdin: json_field '["echeances"][0]["id"]'.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Logs in and saves a card for the logged-in customer the way Stripe.js would:
# a SetupIntent from the server, confirmed at the local peer with the card number.
demo_login_with_card() { # email, password, card number[, expiry month, expiry year]
  demo_api login "email=$1" "password=$2" >/dev/null
  local secret setup_intent pm status
  secret=$(demo_api card/setup | json_field '["client_secret"]')
  setup_intent=${secret%%_secret_*}
  pm=$(curl -fsS -u "$STRIPE_SECRET_KEY:" "$DEMO_PEER/v1/payment_methods" -d type=card -d "card[number]=$3" \
    -d "card[exp_month]=${4:-12}" -d "card[exp_year]=${5:-2034}" -d 'card[cvc]=123' | json_field '["id"]')
  status=$(curl -fsS -u "$STRIPE_SECRET_KEY:" "$DEMO_PEER/v1/setup_intents/$setup_intent/confirm" -d "payment_method=$pm" |
    json_field '["status"]')
  if [ "$status" = requires_action ]; then
    # The cardholder completes 3D Secure (what the peer's Stripe.js modal does).
    curl -fsS -u "$STRIPE_SECRET_KEY:" "$DEMO_PEER/v1/setup_intents/$setup_intent/confirm" -d use_stripe_sdk=true >/dev/null
  fi
  demo_api card/save "setup_intent_id=$setup_intent" >/dev/null
}

# The server and the browser bundle (`--release` for the optimised one). `--split` cuts the
# WASM at the app's lazy routes (app/src/ui/app.rs): without it a page's bundle would import
# chunks nobody wrote and never start.
leptos_build() {
  cargo leptos build --split "$@"
}
# The RUSTFLAGS cargo-leptos gives the debug browser build with `--split`: the wasm32 checks of
# scripts/test use the same, so the bundle they compile is the one `leptos_build` then reuses.
FRONT_RUSTFLAGS="-Clink-args=--emit-relocs --cfg erase_components"

# The server binary cargo-leptos builds, with the site it serves.
server_env() {
  export LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_SITE_PKG_DIR=pkg LEPTOS_HASH_FILES=false
}
SERVER_BIN="$CARGO_TARGET_DIR/debug/server"
