#!/usr/bin/env bash
# The store and server benchmarks of docs/benchmarks.md ("Fleet"), end to end on loopback.
# Not run by CI. Needs a built tree (ninja hadmc sha256_bench delta_bytes https_load fleet_seed)
# and wrk, rsync, casync (scripts/setup.sh installs them).
#   BUILD_DIR (default build), OUT (default out/bench-fleet), SECONDS_PER_RUN (default 10)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD_DIR:-build}
OUT=${OUT:-out/bench-fleet}
DUR=${SECONDS_PER_RUN:-10}
HADMC="${BUILD}/cloud/hadmc --threads 2 --log-level warn"
mkdir -p "${OUT}"
say() { echo; echo "==> $*"; }

say "machine"
nproc; grep -m1 "model name" /proc/cpuinfo; uptime

say "SHA256: hadmc block hashing vs openssl speed (256 KiB blocks)"
"${BUILD}/bench/sha256_bench" --benchmark_filter='BM_Sha256Block/262144|BM_Sha256Block/8192' \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
openssl speed -evp sha256 -bytes 262144 -seconds 3 2>/dev/null | tail -2
openssl speed -evp sha256 -bytes 8192 -seconds 3 2>/dev/null | tail -1

say "models: resnet18 (untrained weights are enough for byte counts) and a head-only change"
if [[ ! -f ${OUT}/r18.hmc ]]; then  # 256 samples: the weights only need the right shapes
  ${HADMC} train --arch resnet18 --data fashion-mnist --epochs 1 --train-samples 256 \
    --test-samples 256 --out "${OUT}/r18.hmc" > "${OUT}/train.log" 2>&1
fi
python3 bench/fleet/change_head.py "${OUT}/r18.hmc" "${OUT}/r18_head.hmc"
ls -l "${OUT}/r18.hmc" "${OUT}/r18_head.hmc"

say "publish 45 MB locally (split + hash + sign + store + registry)"
STATE=${OUT}/state
rm -rf "${STATE}"
${HADMC} keys init --state-dir "${STATE}" > /dev/null
/usr/bin/time -f "wall %e s, max RSS %M KB" ${HADMC} publish "${OUT}/r18.hmc" --name resnet18 --state-dir "${STATE}"
/usr/bin/time -f "wall %e s (second publish, all blocks already stored)" ${HADMC} publish "${OUT}/r18.hmc" --name resnet18 --state-dir "${STATE}"

say "server: ${DUR}s runs on loopback with 10,000 registered devices"
# The server gets its own state directory, so the upload below really sends every block.
SSTATE=${OUT}/server-state
rm -rf "${SSTATE}"
${BUILD}/bench/fleet_seed --state-dir "${SSTATE}" --devices 10000
${HADMC} serve --state-dir "${SSTATE}" --device-port 18443 --admin-port 18444 > "${OUT}/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM ${SERVER} 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "${OUT}/serve.log" && break; sleep 0.1; done
TOKEN=$(cat "${SSTATE}/admin.token")
${HADMC} ca issue-device edge-bench --state-dir "${SSTATE}" > /dev/null

say "publish 45 MB over HTTPS (all 258 blocks uploaded), then the head-only version (2 blocks)"
/usr/bin/time -f "wall %e s" ${HADMC} publish "${OUT}/r18.hmc" --name resnet18 --state-dir "${SSTATE}" --server https://127.0.0.1:18444 --token "${TOKEN}"
/usr/bin/time -f "wall %e s" ${HADMC} publish "${OUT}/r18_head.hmc" --name resnet18 --state-dir "${SSTATE}" --server https://127.0.0.1:18444 --token "${TOKEN}"

say "GET /v1/fleet under wrk (admin listener, bearer token)"
wrk -t2 -c16 -d"${DUR}s" --latency -H "Authorization: Bearer ${TOKEN}" https://127.0.0.1:18444/v1/fleet
say "GET /v1/fleet under https_load (same, closed loop)"
"${BUILD}/bench/https_load" --url https://127.0.0.1:18444 --path /v1/fleet --ca "${SSTATE}/ca/ca.crt" \
  -H "Authorization: Bearer ${TOKEN}" --connections 16 --seconds "${DUR}"
say "POST heartbeat under https_load (device listener, mTLS; wrk cannot present a client certificate)"
"${BUILD}/bench/https_load" --url https://127.0.0.1:18443 --path /v1/devices/edge-bench/heartbeat \
  --method POST --body '{"model":"resnet18","version":1,"state":"serving","health":"ok","p50_ms":2.1,"p99_ms":4.8}' \
  -H "Content-Type: application/json" --ca "${SSTATE}/ca/ca.crt" \
  --cert "${SSTATE}/devices/edge-bench.crt" --key "${SSTATE}/devices/edge-bench.key" \
  --connections 16 --seconds "${DUR}"
kill -TERM ${SERVER}; wait ${SERVER} || true; trap - EXIT

say "delta for a head-only change: ManifestDiff vs rsync vs casync"
"${BUILD}/bench/delta_bytes" "${OUT}/r18.hmc" "${OUT}/r18_head.hmc"
rm -rf "${OUT}/rsync-dst" && mkdir -p "${OUT}/rsync-dst"
cp "${OUT}/r18.hmc" "${OUT}/rsync-dst/model.hmc"
cp "${OUT}/r18_head.hmc" "${OUT}/model.hmc"
# -I: the copies share size and mtime second, which rsync's quick check would call identical.
rsync --stats -I --no-whole-file "${OUT}/model.hmc" "${OUT}/rsync-dst/model.hmc" | grep -E "Total bytes sent|Literal data|Matched data"
cp "${OUT}/r18.hmc" "${OUT}/rsync-dst/model.hmc"
echo "rsync --compress:"
rsync --stats -I --no-whole-file --compress "${OUT}/model.hmc" "${OUT}/rsync-dst/model.hmc" | grep -E "Total bytes sent|Literal data"
rm -rf "${OUT}/casync" && mkdir -p "${OUT}/casync"
casync make --store="${OUT}/casync/v1.castr" "${OUT}/casync/v1.caibx" "${OUT}/r18.hmc" > /dev/null
casync make --store="${OUT}/casync/v2.castr" "${OUT}/casync/v2.caibx" "${OUT}/r18_head.hmc" > /dev/null
python3 - "${OUT}/casync" <<'PY'
import os, sys
root = sys.argv[1]
def chunks(store):
    out = {}
    for d, _, files in os.walk(store):
        for f in files:
            if f.endswith(".cacnk"):
                out[f] = os.path.getsize(os.path.join(d, f))
    return out
v1, v2 = chunks(root + "/v1.castr"), chunks(root + "/v2.castr")
new = {k: s for k, s in v2.items() if k not in v1}
idx = os.path.getsize(root + "/v2.caibx")
print(f"casync: v2 has {len(v2)} chunks, {len(new)} not in v1's store, "
      f"{sum(new.values())} compressed bytes to fetch + index {idx} bytes")
PY
