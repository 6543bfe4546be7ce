#!/usr/bin/env bash
# Keeps docker/ in step with the repository without a Docker engine (none runs here):
#   - every docker/Dockerfile.* starts FROM debian:12, installs packages only by running
#     scripts/setup.sh (no apt-get/apt/dpkg install of its own) and builds with scripts/build.sh;
#   - every path a Dockerfile COPYs or ADDs from the build context exists in the repository;
#   - every Dockerfile and every ./ bind mount named in docker/compose.yaml exists;
#   - docker/*.json parse as JSON.
#   check_docker.sh SOURCE_DIR
# It then runs the same checks on a broken copy and fails unless they catch every break.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 SOURCE_DIR" >&2
  exit 2
fi
SOURCE_DIR=$(cd "$1" && pwd)

# Dockerfile lines with "\" continuations joined, comments dropped.
logical_lines() {
  awk '/^[[:space:]]*#/ { next }
       /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, ""); buf = buf $0 " "; next }
       { print buf $0; buf = "" }' "$1"
}

# check_repo ROOT: prints one "problem: ..." line per problem found under ROOT.
check_repo() {
  local root=$1 df found=0
  for df in "${root}"/docker/Dockerfile.*; do
    [[ -e ${df} ]] || continue
    found=1
    local name=${df#"${root}/"} lines
    lines=$(logical_lines "${df}")
    local first_from
    first_from=$(echo "${lines}" | awk 'toupper($1) == "FROM" { print $2; exit }')
    [[ ${first_from} == debian:12 ]] ||
      echo "problem: ${name}: first FROM is '${first_from}', not debian:12"
    echo "${lines}" | grep -Eq '^[[:space:]]*RUN .*scripts/setup\.sh' ||
      echo "problem: ${name}: no RUN of scripts/setup.sh (the one package list)"
    echo "${lines}" | grep -Eq '^[[:space:]]*RUN .*scripts/build\.sh' ||
      echo "problem: ${name}: does not build with scripts/build.sh"
    local own
    own=$(echo "${lines}" | grep -En '(apt-get|apt|aptitude)[[:space:]]+(-[^ ]+[[:space:]]+)*install|dpkg[[:space:]]+-i' || true)
    [[ -z ${own} ]] ||
      echo "problem: ${name}: installs packages itself instead of through scripts/setup.sh: ${own}"
    # COPY/ADD sources from the build context (the repository root); --from= copies come from
    # another stage.
    local line
    while IFS= read -r line; do
      local -a words
      read -r -a words <<<"${line}"
      local -a args=()
      local w from_stage=0
      for w in "${words[@]:1}"; do
        case ${w} in
          --from=*) from_stage=1 ;;
          --*) ;;
          *) args+=("${w}") ;;
        esac
      done
      ((from_stage == 0)) || continue
      if ((${#args[@]} < 2)); then
        echo "problem: ${name}: cannot read '${line}'"
        continue
      fi
      local src
      for src in "${args[@]:0:${#args[@]}-1}"; do
        [[ -e ${root}/${src} ]] ||
          echo "problem: ${name}: COPY source '${src}' does not exist in the repository"
      done
    done < <(echo "${lines}" | grep -Ei '^[[:space:]]*(COPY|ADD)[[:space:]]' || true)
  done
  ((found)) || echo "problem: no docker/Dockerfile.* found"

  local compose=${root}/docker/compose.yaml
  if [[ ! -f ${compose} ]]; then
    echo "problem: docker/compose.yaml does not exist"
  else
    local ref
    while IFS= read -r ref; do
      [[ -e ${root}/${ref} ]] || echo "problem: compose.yaml: dockerfile '${ref}' does not exist"
    done < <(sed -nE 's/^[[:space:]]*dockerfile:[[:space:]]*"?([^" ]+)"?.*/\1/p' "${compose}")
    while IFS= read -r ref; do
      [[ -e ${root}/docker/${ref} ]] ||
        echo "problem: compose.yaml: bind mount source './${ref}' does not exist in docker/"
    done < <(sed -nE 's/^[[:space:]]*-[[:space:]]*"?\.\/([^:" ]+):.*/\1/p' "${compose}")
  fi

  local json
  for json in "${root}"/docker/*.json; do
    [[ -e ${json} ]] || continue
    python3 -m json.tool "${json}" >/dev/null 2>&1 ||
      echo "problem: ${json#"${root}/"} is not valid JSON"
  done
}

if ! command -v python3 >/dev/null 2>&1; then
  echo "FAIL: python3 is needed to parse docker/*.json (scripts/setup.sh installs it)"
  exit 1
fi

problems=$(check_repo "${SOURCE_DIR}")
if [[ -n ${problems} ]]; then
  echo "${problems}"
  echo "FAIL: docker/ is out of step with the repository"
  exit 1
fi
echo "ok: docker/ installs through scripts/setup.sh, builds with scripts/build.sh, and every path it names exists"

# The checks must be able to fail: break a copy in five ways and expect each to be reported.
WORK=$(mktemp -d)
trap 'rm -rf "${WORK}"' EXIT
mkdir -p "${WORK}/docker"
cp "${SOURCE_DIR}"/docker/* "${WORK}/docker/"
cat >"${WORK}/docker/Dockerfile.broken" <<'BROKEN'
FROM ubuntu:22.04
RUN apt-get update && \
    apt-get install -y --no-install-recommends libtorch-dev
COPY no/such/dir/ /src/
BROKEN
echo "{ not json" >"${WORK}/docker/broken.json"
rm "${WORK}/docker/edged.json"
caught=$(check_repo "${WORK}" || true)
expect() {
  if ! echo "${caught}" | grep -qF -- "$1"; then
    echo "FAIL: a broken copy was not caught: expected a problem containing '$1'; got:"
    echo "${caught}"
    exit 1
  fi
}
expect "Dockerfile.broken: first FROM is 'ubuntu:22.04'"
expect "Dockerfile.broken: installs packages itself"
expect "Dockerfile.broken: no RUN of scripts/setup.sh"
expect "COPY source 'no/such/dir/' does not exist"
expect "bind mount source './edged.json' does not exist"
expect "broken.json is not valid JSON"
echo "ok: the checks catch a foreign base image, an own apt list, a missing COPY source, a missing mount and bad JSON"
