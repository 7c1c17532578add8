"""Stress (breakpoint): ten equal steps of 10% of the peak each. `controlplane load run`
stops at the first step where an SLO gate stays breached past its grace period and reports
that user count as the breakpoint; without gates the shape simply climbs to the peak."""

from controlplane.load.shapes import Stage, StagedShape


class Breakpoint(StagedShape):
    def stages(self) -> list[Stage]:
        steps = 10
        return [Stage(until=(n + 1) / steps, users=(n + 1) / steps, spawn_rate=1.0)
                for n in range(steps)]
