# syntax=docker/dockerfile:1
# The image the Helm charts in charts/ run: the control plane, the reference trading services
# (testbed) and Locust, from one wheel. It has not been built here: this machine has no
# container engine (see charts/README.md).
#
#   docker build -t controlplane:0.1.0 .                      # the app image (default target)
#   docker build --target ledger -t controlplane-ledger:0.1.0 .  # PostgreSQL + Patroni

FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
# The wheel carries experiments/, runbooks/, policies/ and loadtests/ as shipped defaults;
# the charts mount the user's copies over them (CONTROLPLANE_PROJECT).
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps . \
    && rm -rf /src
RUN useradd --uid 10001 --user-group --home-dir /home/app --create-home app
USER 10001
WORKDIR /home/app
ENTRYPOINT ["controlplane"]
CMD ["serve", "--host", "0.0.0.0"]

# The ledger node: PostgreSQL 17 run by Patroni, with Kubernetes as Patroni's store (no etcd).
FROM postgres:17-bookworm AS ledger
COPY requirements-patroni.lock /tmp/requirements-patroni.lock
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/patroni \
    && /opt/patroni/bin/pip install --no-cache-dir --require-hashes \
         -r /tmp/requirements-patroni.lock \
    && rm /tmp/requirements-patroni.lock
ENV PATH=/opt/patroni/bin:$PATH
USER postgres
ENTRYPOINT ["patroni"]
