-- Schema v7 (SQLite only): the ledger's check on row_table, written as
-- comparisons.
--
-- row_chain's check `row_table IN ('missions', ...)` cost about 2 us on
-- every ledger row written: SQLite evaluates an IN list of more than two
-- constants by building a temporary index of the list each time a
-- statement runs, and the store runs its ledger insert once per row. That
-- was a sixth of a batched tool call and most of what the chain's storage
-- added to it (measured with SQLite 3.40 and 3.50: 3.3 us per ledger row
-- with the IN list, 1.3 us with the same rule as comparisons, 1.3 us with
-- no check). The rule is unchanged: the same five names, compared as the
-- IN list compared them (the column's BINARY collation).
--
-- The check's text is replaced where the table's definition holds it, as
-- SQLite documents for a change that leaves every stored byte as it is
-- ("ALTER TABLE", making other kinds of schema changes). The table is not
-- rebuilt: whatever another program added to it (columns, indexes,
-- triggers, views that read it, foreign keys that point at it) stays as it
-- was. A definition that does not hold this text (another program made
-- the table itself) is left alone. RESET makes this connection read the
-- new definition; creating and dropping a table moves the schema cookie,
-- so every other open connection reads it again too.
--
-- PostgreSQL evaluates an IN list without building anything; it has no
-- migration 7.

PRAGMA writable_schema = ON;

UPDATE sqlite_schema
SET sql = replace(sql,
    'CHECK (row_table IN (''missions'', ''tool_calls'', ''decisions'', ''agent_memory'',
                             ''playbook_runs''))',
    'CHECK (row_table = ''missions'' OR row_table = ''tool_calls''
               OR row_table = ''decisions'' OR row_table = ''agent_memory''
               OR row_table = ''playbook_runs'')')
WHERE type = 'table' AND name = 'row_chain';

PRAGMA writable_schema = RESET;

CREATE TABLE vibe_schema_reload (x);
DROP TABLE vibe_schema_reload;
