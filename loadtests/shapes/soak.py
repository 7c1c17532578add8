"""Soak: reach the peak within the first 5% of the run and hold it to the end."""

from controlplane.load.shapes import Stage, StagedShape


class Soak(StagedShape):
    duration_s = 600.0

    def stages(self) -> list[Stage]:
        return [Stage(until=0.05, users=1.0, spawn_rate=0.5), Stage(until=1.0, users=1.0,
                                                                    spawn_rate=0.5)]
