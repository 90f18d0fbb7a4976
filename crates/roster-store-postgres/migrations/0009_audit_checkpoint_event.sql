-- The last event retention purged, kept whole (JSON), so `roster audit verify` can prove
-- the checkpoint names a real event and that retention could have purged it.
ALTER TABLE audit_heads ADD COLUMN checkpoint_event TEXT;
-- Checkpoints made before: marked, so verify can tell them from one edited by hand.
UPDATE audit_heads SET checkpoint_event = 'legacy' WHERE checkpoint_seq > 0;
