"""Write this pod's service config, then run the service: `python start.py SERVICE TEMPLATE`.

The chart's ConfigMap holds one template per service with everything the pods share; what
differs per pod (its name, the matcher's shard from its StatefulSet ordinal) and the tokens
(from the Secret, through the environment) are filled in here. The ledger password is not in
the config: asyncpg reads PGPASSWORD.
"""

import json
import os
import sys

service, template = sys.argv[1], sys.argv[2]
with open(template, encoding="utf-8") as file:
    config = json.load(file)
pod = os.environ["POD_NAME"]
config["instance"] = pod
if service == "matcher":
    config["shard"] = int(pod.rsplit("-", 1)[1])
for key, env in (("admin_token", "ADMIN_TOKEN"), ("otlp_token", "OTLP_TOKEN")):
    if os.environ.get(env):
        config[key] = os.environ[env]
path = os.environ.get("CONFIG_PATH", "/tmp/config.json")   # /tmp: the pod's emptyDir
with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
    json.dump(config, file)
os.execvp(sys.executable, [sys.executable, "-m", f"testbed.{service}", "--config", path])
