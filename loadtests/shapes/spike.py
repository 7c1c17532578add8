"""Spike: a baseline of 20% of the peak, a sudden spike to the peak (started within a second)
from 40% to 60% of the run, then back to the baseline."""

from controlplane.load.shapes import Stage, StagedShape


class Spike(StagedShape):
    def stages(self) -> list[Stage]:
        return [Stage(until=0.4, users=0.2, spawn_rate=0.2),
                Stage(until=0.6, users=1.0, spawn_rate=1.0),
                Stage(until=1.0, users=0.2, spawn_rate=1.0)]
