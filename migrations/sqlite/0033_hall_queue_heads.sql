-- motcua schema, version 33 (SQLite): the reception hall's queue heads. A counter's call reads, per
-- service area, the first tickets of the ordinary and of the priority lane by the time they
-- began waiting, every ticket sent to a particular counter and every booking whose slot has
-- come (crates/store/src/hall.rs, `waiting_query`). These partial indexes hold the waiting
-- tickets only, so each of those reads is an index seek of a few entries instead of a pass over
-- the day's tickets.
CREATE INDEX hall_tickets_queue_ordinary ON hall_tickets (hall, day, area, waiting_since)
    WHERE status = 'waiting' AND for_counter IS NULL AND priority IS NULL;
CREATE INDEX hall_tickets_queue_priority ON hall_tickets (hall, day, area, waiting_since)
    WHERE status = 'waiting' AND for_counter IS NULL AND priority IS NOT NULL;
CREATE INDEX hall_tickets_queue_directed ON hall_tickets (hall, day)
    WHERE status = 'waiting' AND for_counter IS NOT NULL;
CREATE INDEX hall_tickets_queue_booked ON hall_tickets (hall, day, slot_at)
    WHERE status = 'waiting' AND slot_at IS NOT NULL;
