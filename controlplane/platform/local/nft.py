"""nftables rules of one cluster, in a table of its own, each rule tagged with the fault that
added it so that the fault (and only it) can be found and removed again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from controlplane.errors import MissingDependency, PlatformError

__all__ = ["Nft"]

CHAIN = "faults"


class Nft:
    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def require() -> str:
        nft = shutil.which("nft", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        if nft is None:
            raise MissingDependency("nft not found: install the Debian package 'nftables' "
                                    "(run `make setup` as root)")
        if os.geteuid() != 0:
            raise PlatformError("network faults need root: nftables rules can only be added by "
                                "root; run the chaos runner as root (or with CAP_NET_ADMIN)")
        return nft

    def _run(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([self.require(), *args], input=stdin, capture_output=True,
                                text=True, timeout=10)
        if result.returncode != 0:
            raise PlatformError(f"nft {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def ensure(self) -> None:
        self._run("-f", "-", stdin=(
            f"add table inet {self.table}\n"
            f"add chain inet {self.table} {CHAIN} "
            "{ type filter hook output priority 0; policy accept; }\n"))

    def add(self, tag: str, rules: list[str]) -> None:
        """Add rules atomically (all or none), each commented with `tag`."""
        self.ensure()
        script = "".join(f'add rule inet {self.table} {CHAIN} {r} comment "{tag}"\n'
                         for r in rules)
        self._run("-f", "-", stdin=script)

    def rules(self, tag: str | None = None) -> list[dict]:
        """Rules of our table (with `handle`, `comment` and the `text` nft printed)."""
        try:
            data = json.loads(self._run("-j", "-a", "list", "table", "inet", self.table))
        except PlatformError:
            return []
        out = []
        for item in data.get("nftables", []):
            rule = item.get("rule")
            if rule and (tag is None or rule.get("comment") == tag):
                out.append(rule)
        return out

    def delete(self, tag: str) -> int:
        """Remove the rules tagged `tag`; returns how many were removed."""
        found = self.rules(tag)
        if found:
            self._run("-f", "-", stdin="".join(
                f"delete rule inet {self.table} {CHAIN} handle {r['handle']}\n" for r in found))
        return len(found)

    def drop(self) -> None:
        """Remove the whole table (cluster down)."""
        if shutil.which("nft", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None \
                or os.geteuid() != 0:
            return
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True,
                       timeout=10)
