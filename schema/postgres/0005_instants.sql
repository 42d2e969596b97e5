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
-- needs none), so it is IMMUTABLE and may be indexed. It is plain SQL that
-- validates before it casts, so no text can make it raise: no exception
-- handler (a subtransaction per call) on the write path of every row.

CREATE FUNCTION vibe_instant(t TEXT) RETURNS TIMESTAMPTZ
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN at >= '0001-01-01 00:00:00+00' AND at < '10000-01-01 00:00:00+00'
            THEN at ELSE '-infinity' END
FROM (SELECT CASE
    -- Outside the grammar (NULL too): the floor. A CASE tries its branches
    -- in order, so each cast below only sees text the ones before passed.
    WHEN t IS NULL
      OR t !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)? *([Zz]|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?$'
      OR left(t, 4) = '0000'
        THEN '-infinity'::timestamptz
    -- A day the month does not have (2026-02-30).
    WHEN substr(t, 9, 2)::int > extract(day FROM make_date(left(t, 4)::int, substr(t, 6, 2)::int, 1)
                                                + interval '1 month' - interval '1 day')
        THEN '-infinity'::timestamptz
    -- The fraction cut to microseconds, as the other readers cut it (a
    -- cast would round .9999999 up into the next second).
    WHEN length(t) > 10 AND t ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'
        THEN regexp_replace(t, '(\.[0-9]{6})[0-9]+', '\1')::timestamptz
    ELSE regexp_replace(t, '(\.[0-9]{6})[0-9]+', '\1')::timestamp AT TIME ZONE 'UTC'
END AS at) instant
$$;

DROP INDEX idx_tool_calls_timestamp;
DROP INDEX idx_decisions_timestamp;
DROP INDEX idx_missions_created;

CREATE INDEX idx_tool_calls_instant ON tool_calls (vibe_instant(timestamp));
CREATE INDEX idx_decisions_instant ON decisions (vibe_instant(timestamp));
CREATE INDEX idx_missions_created_instant ON missions (vibe_instant(created_at), id);
