#!/usr/bin/env bash
# Install what controlplane needs on this machine; idempotent, and fast when all is there.
#   1. Debian packages for the reference cluster (apt-get as root; otherwise print the command)
#   2. a virtual environment in .venv built from requirements.lock (hash-checked)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(prometheus prometheus-alertmanager etcd-server patroni postgresql haproxy nftables chromium)
EXTRA=("$@")   # e.g. `scripts/setup.sh wrk` for the benchmarks
VENV=.venv
LOCK=requirements.lock

missing=()
for pkg in "${PACKAGES[@]}" "${EXTRA[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run this as root, then run the make command again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  # Keep the packages' own services (prometheus on :9090, alertmanager on :9093, etcd on
  # :2379, haproxy) from being started by the install; the control plane runs its own
  # instances on free ports.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  trap '[[ $own_policy == 1 ]] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: installed ${missing[*]}"
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed as '$python' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

want=$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)
have=$(cat "$VENV/.lock-hash" 2>/dev/null || true)
if [[ "$want" != "$have" || ! -x "$VENV/bin/controlplane" ]]; then
  echo "setup: building $VENV from $LOCK"
  [[ -x "$VENV/bin/python" ]] || "$python" -m venv "$VENV"
  quiet() { grep -v "^WARNING: Location" || true; }   # this machine's pip mirrors are noisy
  "$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes -r "$LOCK" 2>&1 | quiet
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
    2>&1 | quiet
  "$VENV/bin/python" -c 'import controlplane, testbed' # fail here, not later, if it went wrong
  echo "$want" > "$VENV/.lock-hash"
  echo "setup: $VENV ready"
fi

# 3. Patroni with the stale-leader fix (patroni#2689, after Debian's 3.0.2), pinned and
#    hash-checked, in .patroni/. It runs as the postgres user under Debian's python3: that user
#    cannot read a Python under /root, and the Debian package already brought python3 in.
PATRONI_LOCK=requirements-patroni.lock
PATRONI_HOME=.patroni
want=$(sha256sum "$PATRONI_LOCK" | cut -c1-16)
have=$(cat "$PATRONI_HOME/.lock-hash" 2>/dev/null || true)
if [[ "$want" != "$have" ]]; then
  echo "setup: installing Patroni from $PATRONI_LOCK into $PATRONI_HOME"
  rm -rf "$PATRONI_HOME"
  quiet() { grep -v "^WARNING: Location" || true; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps \
    --no-build-isolation --target "$PATRONI_HOME/lib" -r "$PATRONI_LOCK" 2>&1 | quiet
  PYTHONPATH="$PATRONI_HOME/lib" /usr/bin/python3 -m patroni --version
  echo "$want" > "$PATRONI_HOME/.lock-hash"
fi
