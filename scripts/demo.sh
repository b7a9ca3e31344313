#!/usr/bin/env bash
# The demo on a fresh Debian 12 machine with Node 20, in one command: installs what is missing
# (scripts/setup.sh), converts the MIMIC-IV demo into out/fhir-mimic-iv if it is not there yet,
# then runs the CDS service (auth off: local demo) and `leader ehr` loaded with those patients,
# subscribes the service to the EHR's chart changes (FHIR Subscriptions: the service writes its
# recommendations back to the chart), and prints where to click. Ctrl-C stops both.
# Ports: CDS_PORT (3000), EHR_PORT (8080). EHR_CLIENTS: a clients file of your own, merged with the
# demo's backend client into out/demo/ehr-clients.json.
set -euo pipefail
cd "$(dirname "$0")/.."
CDS_PORT="${CDS_PORT:-3000}"
EHR_PORT="${EHR_PORT:-8080}"
bash scripts/setup.sh
if [ ! -s out/fhir-mimic-iv/Patient.ndjson ]; then
  echo "demo: converting the MIMIC-IV demo (../shared/data/mimic-iv-demo-2.2) to out/fhir-mimic-iv"
  node dist/src/cli/main.js mimic-to-fhir --source ../shared/data/mimic-iv-demo-2.2 --out out/fhir-mimic-iv
fi
# The service's backend-services client at the EHR (made once; the key is reused on later runs).
DEMO_DIR=out/demo
node dist/src/cli/main.js subscribe backend-client --key "$DEMO_DIR/backend-key.json" --clients "$DEMO_DIR/ehr-clients.json" \
  ${EHR_CLIENTS:+--merge "$EHR_CLIENTS"}
# A fresh subscriptions database each run (the rest of $DEMO_DIR/data, e.g. feedback, is kept): the EHR
# is in-memory, so the Subscriptions an earlier run registered are gone with it; renewing their
# registrations could only fail and leave stale rows beside the new one.
rm -f "$DEMO_DIR/data/subscriptions.sqlite" "$DEMO_DIR/data/subscriptions.sqlite-wal" "$DEMO_DIR/data/subscriptions.sqlite-shm"
export SUBSCRIPTIONS_CLIENT_ID=leader-cds-backend SUBSCRIPTIONS_PRIVATE_KEY_FILE="$DEMO_DIR/backend-key.json" LEADER_DATA_DIR="$DEMO_DIR/data"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM
# The SMART app reads patients through the local EHR's FHIR server with the user's token: allow-list it.
# The local EHR searches its whole in-memory store per query (seconds for a MIMIC patient): longer FHIR limits.
SMART_FHIR_SERVERS="http://127.0.0.1:${EHR_PORT}/fhir" CDS_PUBLIC_URL="http://127.0.0.1:${CDS_PORT}" \
  FHIR_TIMEOUT_MS=60000 FHIR_DEADLINE_MS=180000 \
  CDS_AUTH_DISABLED=true PORT="$CDS_PORT" HOST=127.0.0.1 node dist/src/main.js &
pids+=($!)
node dist/src/cli/main.js ehr --fhir out/fhir-mimic-iv --port "$EHR_PORT" \
  --cds-services "http://127.0.0.1:${CDS_PORT}/cds-services" --clients "$DEMO_DIR/ehr-clients.json" &
pids+=($!)
for _ in $(seq 1 240); do
  # --max-time: a server still loading may accept a connection and answer it only much later.
  if curl -fs --max-time 5 "http://127.0.0.1:${CDS_PORT}/health/live" >/dev/null 2>&1 && curl -fs --max-time 5 "http://127.0.0.1:${EHR_PORT}/fhir/metadata" -o /dev/null 2>&1; then
    node dist/src/cli/main.js subscribe create --fhir "http://127.0.0.1:${EHR_PORT}/fhir" --service "http://127.0.0.1:${CDS_PORT}"
    cat <<MSG

demo ready (Ctrl-C stops it):
  local test EHR (launcher page)  http://127.0.0.1:${EHR_PORT}/   pick a patient, press "order-select → CDS"
                                  or "Launch Medication review (leader-cds)" (the SMART app)
  FHIR Subscriptions (write-back) on the launcher page, pick a diagnosis and press "Admit": the EHR notifies
                                  the service, which writes draft proposals back to the chart; "Write-backs"
                                  shows them (http://127.0.0.1:${EHR_PORT}/ehr/chart?patient=<id>, refreshes itself)
                                  state: LEADER_DATA_DIR=$DEMO_DIR/data SUBSCRIPTIONS_CLIENT_ID=leader-cds-backend \\
                                    SUBSCRIPTIONS_PRIVATE_KEY_FILE=$DEMO_DIR/backend-key.json node dist/src/cli/main.js subscribe list
  SMART app launch URL            http://127.0.0.1:${CDS_PORT}/smart/launch
  recommendations API (OpenAPI)   http://127.0.0.1:${CDS_PORT}/api/docs
  FHIR R4 base                    http://127.0.0.1:${EHR_PORT}/fhir   (SMART token required; see README "Local EHR")
  CDS Hooks discovery             http://127.0.0.1:${CDS_PORT}/cds-services
MSG
    wait -n "${pids[@]}"
    exit $?
  fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "demo: a process stopped during start-up (see above)"; exit 1; }; done
  sleep 0.5
done
echo "demo: the CDS service or leader ehr did not come up within 120 s"
exit 1
