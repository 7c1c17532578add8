"""A Locust load shape made of stages, scaled by a peak user count and a duration.

Importing this module imports Locust (gevent): only locustfiles and the engine import it.

A shape file in `loadtests/shapes/` subclasses `StagedShape` and says, in `stages`, how the
user count moves as fractions of the peak and of the duration. The peak and the duration come,
in this order, from attributes set by the engine (`peak_users`, `duration_s`), from the plain
`locust` command's `-u` and `-t` (`use_common_options`), or from the class defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from locust import LoadTestShape

__all__ = ["Stage", "StagedShape"]


@dataclass(frozen=True)
class Stage:
    until: float        # fraction of the duration at which this stage ends (0 < until <= 1)
    users: float        # fraction of the peak user count
    spawn_rate: float   # fraction of the peak per second (users started or stopped per second)


class StagedShape(LoadTestShape):
    abstract = True
    use_common_options = True
    peak_users: int = 20
    duration_s: float = 60.0

    def stages(self) -> list[Stage]:
        raise NotImplementedError

    def target_users(self) -> int:
        """The largest user count the shape asks for: the run must reach it to be valid."""
        return max(self._users(s) for s in self.stages())

    def tick(self) -> tuple[int, float] | None:
        peak, duration = self._scale()
        elapsed = self.get_run_time()
        for stage in self.stages():
            if elapsed < stage.until * duration:
                return self._users(stage, peak), max(stage.spawn_rate * peak, 1.0)
        return None

    def _users(self, stage: Stage, peak: int | None = None) -> int:
        peak = self._scale()[0] if peak is None else peak
        return max(1, round(stage.users * peak))

    def _scale(self) -> tuple[int, float]:
        options = getattr(getattr(self.runner, "environment", None), "parsed_options", None)
        peak, duration = self.peak_users, self.duration_s
        if options is not None and not getattr(self, "_set_by_engine", False):
            peak = options.num_users or peak
            duration = options.run_time or duration
        return int(peak), float(duration)

    def configure(self, peak_users: int, duration_s: float) -> None:
        """Set by the engine: these win over the command line and the defaults."""
        self.peak_users, self.duration_s = int(peak_users), float(duration_s)
        self._set_by_engine = True
