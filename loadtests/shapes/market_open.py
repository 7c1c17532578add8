"""Market open: a quiet pre-open (10% of the peak), the opening bell's burst to the peak
(all users within a second) held for 30% of the run, then a decay to a steady 50%."""

from controlplane.load.shapes import Stage, StagedShape


class MarketOpen(StagedShape):
    def stages(self) -> list[Stage]:
        return [Stage(until=0.2, users=0.1, spawn_rate=0.1),
                Stage(until=0.5, users=1.0, spawn_rate=1.0),
                Stage(until=0.7, users=0.7, spawn_rate=0.1),
                Stage(until=1.0, users=0.5, spawn_rate=0.1)]
