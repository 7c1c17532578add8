"""The machine the control plane itself runs on: its own processes (runners, load workers,
helpers it spawns) and the programs it calls (promtool). Not a cluster: the platform is the only
way to touch one, and `controlplane.platform.local` builds its process supervision on this."""
