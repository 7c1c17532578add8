-- Faults outlive their runner no longer (issue 14): every fault is recorded, before it is
-- injected, with the time by which it must be undone and the process that injects it (its pid
-- and host). The supervisor's reaper (controlplane/chaos/reaper.py) reverts an open fault once
-- that time has passed or that process is gone, so a runner's crash leaves nothing in force.
-- Rows written before this migration have neither, and are left to `chaos recover`.

ALTER TABLE faults ADD COLUMN expires_at REAL;
ALTER TABLE faults ADD COLUMN owner_pid INTEGER;
ALTER TABLE faults ADD COLUMN owner_host TEXT;
