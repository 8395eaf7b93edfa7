"""Inserting facts marks their 15-minute windows dirty, in the inserting transaction
(statement-level triggers over the inserted rows): a fact that arrives late — a batch icm
kept while PostgreSQL was away — gets its window re-aggregated (stats.aggregate)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION stats_mark_contact_windows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirtywindow (period, start)
  SELECT DISTINCT '15m', to_timestamp(floor(extract(epoch FROM entered_at) / 900) * 900)
  FROM new_rows
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER stats_contact_fact_dirty AFTER INSERT ON stats_contactfact
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION stats_mark_contact_windows();

CREATE FUNCTION stats_mark_agent_windows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirtywindow (period, start)
  SELECT DISTINCT '15m', w
  FROM new_rows,
       generate_series(to_timestamp(floor(extract(epoch FROM started_at) / 900) * 900),
                       ended_at, interval '15 minutes') AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER stats_agent_fact_dirty AFTER INSERT ON stats_agentstatefact
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION stats_mark_agent_windows();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS stats_contact_fact_dirty ON stats_contactfact;
DROP TRIGGER IF EXISTS stats_agent_fact_dirty ON stats_agentstatefact;
DROP FUNCTION IF EXISTS stats_mark_contact_windows();
DROP FUNCTION IF EXISTS stats_mark_agent_windows();
"""


class Migration(migrations.Migration):
    dependencies = [("stats", "0002_facts_and_intervals")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
