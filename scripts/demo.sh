#!/usr/bin/env bash
# End-to-end demo on a fresh Debian 12 machine: install, build, show the machine facts, train a
# small ResNet on Fashion-MNIST, evaluate and compress it, fine-tune its classifier head (version
# 2), then run the fleet on this machine: the cloud server with version 1 published, an edge
# daemon serving it under client load, version 2 published, and what the device fetched, what the
# clients saw during the swap and what the cloud knows. Outputs go to out/demo/.
#
# HADMC_DEMO_SKIP_BUILD=1 skips setup.sh and build.sh (the binaries in $BUILD_DIR must exist).
# HADMC_DEMO_{DEVICE,ADMIN,API}_PORT change the ports (8443, 8444, 8470).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
HADMC="${BUILD_DIR}/cloud/hadmc"
EDGED="${BUILD_DIR}/edge/hadmc-edged"
LOADGEN="${BUILD_DIR}/edge/hadmc-loadgen"
OUT=out/demo
CLOUD="${OUT}/cloud"  # the cloud's state directory
EDGE="${OUT}/edge"    # the device: edged.json and its state directory
LOGS="${OUT}/logs"
MODEL=fashion
DEVICE_URL="https://127.0.0.1:${HADMC_DEMO_DEVICE_PORT:-8443}"
ADMIN_URL="https://127.0.0.1:${HADMC_DEMO_ADMIN_PORT:-8444}"
API_PORT=${HADMC_DEMO_API_PORT:-8470}
API_URL="https://127.0.0.1:${API_PORT}"
API_CA="${EDGE}/state/api/ca.crt"  # the edge daemon's local API CA (made on its first start)
PROBATION_S=10

# Prints a command, then runs it.
run() {
  echo
  echo "==> demo: $*"
  "$@"
}

say() {
  echo
  echo "==> demo: $*"
}

# Background processes (server, daemon, load generator) are stopped however the demo ends.
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "${pid}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "${pid}" 2>/dev/null || true; done
}
trap cleanup EXIT

# wait_for SECONDS WHAT COMMAND...: retries COMMAND every half second until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  local deadline=$((SECONDS + seconds))
  shift 2
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "demo: ERROR: gave up after ${seconds} s waiting for ${what} (logs in ${LOGS}/)" >&2
      return 1
    fi
    sleep 0.5
  done
}

admin() { curl -sf --cacert "${CLOUD}/ca/ca.crt" -H "Authorization: Bearer ${HADMC_TOKEN}" "${ADMIN_URL}$1"; }
edge() { curl -sf --cacert "${API_CA}" "${API_URL}$1"; }
edge_metric() { edge /metrics | awk -v m="$1" '$1 == m { print $2 }'; }
cloud_up() { curl -sf --cacert "${CLOUD}/ca/ca.crt" "${ADMIN_URL}/healthz" -o /dev/null; }
edge_up() { [[ -f ${API_CA} ]] && edge /healthz >/dev/null; }
edge_serves() { [[ $(edge /v1/status | jq -r .version) == "$1" ]]; }
# Past probation: back to idle, still on version $1 (a rollback would show the old version).
edge_settled() { [[ $(edge /v1/status | jq -r '"\(.version) \(.state)"') == "$1 idle" ]]; }
cloud_sees() { [[ $(admin /v1/devices/edge-1 | jq -r '.version') == "$1" ]]; }

if [[ ${HADMC_DEMO_SKIP_BUILD:-0} != 1 ]]; then
  bash scripts/setup.sh
  bash scripts/build.sh
fi
mkdir -p "${OUT}"

run "${HADMC}" sysinfo
# 5 epochs, batch 256, peak lr 0.2: 90.22% test accuracy in 2 min 40 s of training on a quiet
# 2-core machine (docs/benchmarks.md).
run "${HADMC}" train --arch resnet8 --data fashion-mnist --epochs 5 --batch-size 256 --lr 0.2 \
  --warmup-epochs 0.3 --out "${OUT}/base.hmc"
run "${HADMC}" eval "${OUT}/base.hmc" --data fashion-mnist
run "${HADMC}" info "${OUT}/base.hmc"
# The HAD-MC pipeline: prune 30% of channels (Taylor), one epoch of distillation from the
# original, fuse, int8 on real kernels; prints the measured before/after report.
run "${HADMC}" compress "${OUT}/base.hmc" --out "${OUT}/small.hmc" --prune 0.3 \
  --distill-epochs 1 --bits 8
# Version 2: the classifier head fine-tuned for one epoch on the int8 body's features. compress
# keeps the first and last layers fp32, so the head is trainable; every other tensor keeps its
# bytes, and so its blocks.
run "${HADMC}" finetune "${OUT}/small.hmc" --only fc. --epochs 1 --out "${OUT}/small-v2.hmc"

# --- The fleet on one machine --------------------------------------------------------------
rm -rf "${CLOUD}" "${EDGE}" "${LOGS}"
mkdir -p "${EDGE}" "${LOGS}"
run "${HADMC}" keys init --state-dir "${CLOUD}"
run "${HADMC}" ca init --state-dir "${CLOUD}"
run "${HADMC}" ca issue-device edge-1 --class x86_cpu --state-dir "${CLOUD}"
say "export HADMC_TOKEN=\$(${HADMC} token create --name demo --state-dir ${CLOUD})"
HADMC_TOKEN=$("${HADMC}" token create --name demo --state-dir "${CLOUD}")
export HADMC_TOKEN  # the remote commands below read it

say "${HADMC} serve --state-dir ${CLOUD} (in the background; log: ${LOGS}/serve.log)"
"${HADMC}" serve --state-dir "${CLOUD}" --device-port "${DEVICE_URL##*:}" \
  --admin-port "${ADMIN_URL##*:}" >"${LOGS}/serve.log" 2>&1 &
PIDS+=($!)
wait_for 30 "the cloud server" cloud_up
run "${HADMC}" publish "${OUT}/small.hmc" --name "${MODEL}" --channel stable \
  --state-dir "${CLOUD}" --server "${ADMIN_URL}"

# The device's config: the fleet CA, its client certificate and the pinned signing key; relative
# paths are relative to this file. Polls every 2 s here (30 s by default).
cat >"${EDGE}/edged.json" <<EOF
{
  "server": {"url": "${DEVICE_URL}", "ca": "../cloud/ca/ca.crt",
             "cert": "../cloud/devices/edge-1.crt", "key": "../cloud/devices/edge-1.key"},
  "model": "${MODEL}",
  "channel": "stable",
  "pinned_keys": ["../cloud/keys/signing.pub"],
  "state_dir": "state",
  "sync": {"interval_s": 2, "jitter": 0.2},
  "runtime": {"probation_s": ${PROBATION_S}},
  "api": {"address": "127.0.0.1", "port": ${API_PORT}}
}
EOF
say "${EDGED} --config ${EDGE}/edged.json (in the background; log: ${LOGS}/edged.log)"
"${EDGED}" --config "${EDGE}/edged.json" >"${LOGS}/edged.log" 2>&1 &
PIDS+=($!)
wait_for 60 "the edge daemon to serve version 1" edge_up
edge /v1/status | jq -c .
V1_BYTES=$(edge_metric hadmc_edge_sync_bytes_total)

say "${LOADGEN} --url ${API_URL} --ca ${API_CA} --concurrency 2 --shape 1,1,28,28 (until stopped)"
"${LOADGEN}" --url "${API_URL}" --ca "${API_CA}" --concurrency 2 --shape 1,1,28,28 \
  --csv "${OUT}/loadgen.csv" >"${OUT}/loadgen.txt" 2>"${LOGS}/loadgen.log" &
LOADGEN_PID=$!
PIDS+=("${LOADGEN_PID}")
sleep 3  # clients on version 1 first

run "${HADMC}" publish "${OUT}/small-v2.hmc" --name "${MODEL}" --channel stable \
  --state-dir "${CLOUD}" --server "${ADMIN_URL}"
wait_for 60 "the edge daemon to serve version 2" edge_serves 2
say "the edge serves version 2; under load through its ${PROBATION_S} s probation"
wait_for $((PROBATION_S + 60)) "version 2 to pass probation" edge_settled 2
sleep 2  # clients on version 2 after probation too
kill -INT "${LOADGEN_PID}"
wait "${LOADGEN_PID}"
V2_BYTES=$(($(edge_metric hadmc_edge_sync_bytes_total) - V1_BYTES))
FULL_BYTES=$(stat -c %s "${OUT}/small-v2.hmc")
wait_for 30 "the cloud to see version 2 on edge-1" cloud_sees 2

admin "/v1/models/${MODEL}/versions/1" >"${OUT}/manifest-v1.json"
admin "/v1/models/${MODEL}/versions/2" >"${OUT}/manifest-v2.json"
# What changed between the versions: the bytes of v2's blocks that v1 does not have, per piece.
CHANGED=$(jq -r --slurpfile v1 "${OUT}/manifest-v1.json" \
  '([$v1[0].header_blocks[].id] + [$v1[0].tensors[].blocks[].id]) as $old
   | [{name: "header (graph + metadata)", blocks: .header_blocks}] + [.tensors[] | {name, blocks}]
   | map({name, bytes: ([.blocks[] | select(.id as $id | ($old | index($id)) == null) | .size]
                        | add // 0)})
   | map(select(.bytes > 0) | "\(.name) \(.bytes)") | join(", ")' "${OUT}/manifest-v2.json")

echo
echo "==> demo: results (timings and request counts depend on the machine and what else runs on it)"
echo
echo "edge daemon log, the swap:"
grep -E "now serving version|passed probation|rolled back" "${LOGS}/edged.log" | sed 's/^/  /' || true
echo
printf "version 2 fetched by the edge: %s bytes of the model's %s (%s%%)\n" "${V2_BYTES}" \
  "${FULL_BYTES}" "$(awk -v a="${V2_BYTES}" -v b="${FULL_BYTES}" 'BEGIN { printf "%.1f", 100 * a / b }')"
echo "  (edge /metrics hadmc_edge_sync_bytes_total after v2 minus after v1)"
echo "new blocks in the v2 manifest, bytes: ${CHANGED}"
echo
echo "clients during the run (hadmc-loadgen, 2 connections, v1 -> swap -> v2; every request in ${OUT}/loadgen.csv):"
sed 's/^/  /' "${OUT}/loadgen.txt"
echo
echo "the cloud's view (GET ${ADMIN_URL}/v1/fleet and /v1/devices/edge-1):"
admin /v1/fleet | jq -c .
admin /v1/devices/edge-1 | jq -c .
echo
# The edge profiles each version it serves (every fused kernel, in context, plus end to end) and
# reports it; the cloud merges the rows into the latency LUT of the device's class.
profiled() { [[ $(edge /v1/status | jq -r '.last_profile.version // 0') == "$1" ]]; }
if wait_for 60 "the edge to profile version 2" profiled 2; then
  echo "the latency LUT the edge fed (GET ${ADMIN_URL}/v1/lut/x86_cpu; docs/lut.md):"
  admin /v1/lut/x86_cpu | jq -r '"  \(.rows | length) kernel rows, \(.e2e | length) end-to-end rows; e.g."
    , (.rows | sort_by(-.median_ms) | .[:3][] | "  \(.key)  median \(.median_ms * 1000 | round / 1000) ms, p90 \(.p90_ms * 1000 | round / 1000) ms, \(.source)")
    , (.e2e[] | "  e2e \(.model) v\(.version): median \(.median_ms * 1000 | round / 1000) ms, \(.joules_per_inference // "n/a") J/inference (\(.energy_source // "no energy"))")'
  echo
fi
echo "==> demo: done; models in ${OUT}/base.hmc, ${OUT}/small.hmc (v1), ${OUT}/small-v2.hmc (v2); logs in ${LOGS}/"
