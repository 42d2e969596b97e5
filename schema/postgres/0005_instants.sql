-- PostgreSQL schema v5: times compared as the instants they name, as in
-- ../0005_instants.sql.
--
-- vibe_instant(text) reads a stored time by the grammar of
-- host/src/store/time.rs (the same spellings SQLite's expression reads):
-- YYYY-MM-DD, then optionally T or a space, hh:mm, :ss, a fraction, spaces
-- and a zone (Z, ±hh, ±hhmm, ±hh:mm); no zone is UTC. Anything else,
-- NULL included, is '-infinity', below every instant: never matched by a
-- time filter, never pruned by age. It depends on no session setting
-- (the zone-less case is read AT TIME ZONE 'UTC', an explicit offset
-- needs none), so it is IMMUTABLE and may be indexed.

CREATE FUNCTION vibe_instant(t TEXT) RETURNS TIMESTAMPTZ
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF t IS NULL
       OR t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)? *([Zz]|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?$'
       OR left(t, 4) = '0000' THEN
        RETURN '-infinity';
    END IF;
    IF length(t) > 10 AND t ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        RETURN t::timestamptz;
    END IF;
    RETURN t::timestamp AT TIME ZONE 'UTC';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
    RETURN '-infinity';
END
$$;

DROP INDEX idx_tool_calls_timestamp;
DROP INDEX idx_decisions_timestamp;
DROP INDEX idx_missions_created;

CREATE INDEX idx_tool_calls_instant ON tool_calls (vibe_instant(timestamp));
CREATE INDEX idx_decisions_instant ON decisions (vibe_instant(timestamp));
CREATE INDEX idx_missions_created_instant ON missions (vibe_instant(created_at), id);
