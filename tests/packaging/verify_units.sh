#!/usr/bin/env bash
# Checks the systemd units in systemd/ with `systemd-analyze verify` and caps their
# `systemd-analyze security` exposure.
#   verify_units.sh SOURCE_DIR HADMC_EDGED HADMC
# HADMC_EDGED and HADMC are the built binaries: verify refuses an ExecStart= that is not
# executable, so each unit is copied to a temporary directory with ExecStart= pointing at them.
# verify exits 0 on an unknown key or a value it cannot parse (it only warns and ignores the
# line), so any output line that names the unit file counts as a failure.
# Exit 77 (ctest SKIP_RETURN_CODE) when systemd-analyze is missing.
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 SOURCE_DIR HADMC_EDGED HADMC" >&2
  exit 2
fi
SOURCE_DIR=$1
# Absolute: systemd refuses a relative ExecStart= path.
EDGED=$(realpath -m -- "$2")
HADMC=$(realpath -m -- "$3")

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not found (Debian package systemd; scripts/setup.sh installs it)"
  exit 77
fi

# Most exposure allowed by `systemd-analyze security` (0-100 scale; it prints it divided by 10).
# The units score 1.6 (edged) and 1.2 (cloud) with systemd 252; with no hardening a unit
# scores 9.6. A hardening line dropped by accident shows up here.
MAX_EXPOSURE=25

WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# check_unit UNIT BINARY: the unit file in systemd/ with its ExecStart binary replaced by BINARY.
check_unit() {
  local unit=$1 binary=$2
  local src="${SOURCE_DIR}/systemd/${unit}"
  local copy="${WORK}/${unit}"
  if [[ ! -f ${src} ]]; then
    fail "${src} does not exist"
    return
  fi
  if [[ ! -x ${binary} ]]; then
    fail "${binary} is not an executable: build it first (the unit's ExecStart= points at it)"
    return
  fi
  local exec_lines
  exec_lines=$(grep -c '^ExecStart=/usr/local/bin/' "${src}" || true)
  if [[ ${exec_lines} != 1 ]]; then
    fail "${unit}: expected one ExecStart=/usr/local/bin/... line, found ${exec_lines}"
    return
  fi
  sed -E "s#^ExecStart=/usr/local/bin/[^ ]+#ExecStart=${binary}#" "${src}" >"${copy}"

  local out rc=0
  out=$(systemd-analyze verify "${copy}" 2>&1) || rc=$?
  if [[ -n ${out} ]]; then
    echo "${out}" | sed "s#^#  ${unit} verify: #"
  fi
  if ((rc != 0)); then
    fail "${unit}: systemd-analyze verify exited ${rc}"
  fi
  local complaints
  complaints=$(echo "${out}" | grep -F -e "${unit}" || true)
  if [[ -n ${complaints} ]]; then
    fail "${unit}: systemd-analyze verify complained about the unit (lines above)"
  fi

  local sec sec_rc=0
  sec=$(systemd-analyze security --offline=yes --threshold="${MAX_EXPOSURE}" "${copy}" 2>&1) ||
    sec_rc=$?
  echo "  $(echo "${sec}" | grep -F 'Overall exposure level' || echo "${unit}: no exposure line")"
  if ((sec_rc != 0)); then
    fail "${unit}: exposure above $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10)) (systemd-analyze security exited ${sec_rc})"
  fi
  if ((rc == 0)) && [[ -z ${complaints} ]]; then
    echo "ok: ${unit} verifies cleanly"
  fi
}

check_unit hadmc-edged.service "${EDGED}"
check_unit hadmc-cloud.service "${HADMC}"

# The check above must be able to fail: a copy with an unknown key has to produce a complaint
# that names the unit (systemd-analyze's wording is what the grep relies on).
probe="${WORK}/probe.service"
printf '[Service]\nExecStart=/bin/sh -c true\nNoSuchKey=1\n' >"${probe}"
if ! systemd-analyze verify "${probe}" 2>&1 | grep -q -F 'probe.service'; then
  fail "systemd-analyze verify did not name a unit with an unknown key; the check above is blind"
fi

if ((failures > 0)); then
  echo "${failures} check(s) failed"
  exit 1
fi
echo "systemd units: all checks passed"
