"""Ramp: from zero to the peak over the first 60% of the run, then hold the peak."""

from controlplane.load.shapes import Stage, StagedShape


class Ramp(StagedShape):
    def stages(self) -> list[Stage]:
        steps = 6
        ramp = [Stage(until=0.6 * (n + 1) / steps, users=(n + 1) / steps, spawn_rate=0.2)
                for n in range(steps)]
        return [*ramp, Stage(until=1.0, users=1.0, spawn_rate=0.2)]
