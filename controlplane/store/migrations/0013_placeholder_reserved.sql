-- Placeholder on branch gameday only: version 0013 is reserved for another helper's
-- migration. Delete this file when merging; 0015_gamedays follows theirs.
SELECT 1;
