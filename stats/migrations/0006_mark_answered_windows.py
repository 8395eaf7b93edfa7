"""A contact fact marks the window its call was answered in as well as the one it entered
(agents' calls handled count where they were answered): a late contact fact then rebuilds
both."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION stats_mark_contact_windows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirtywindow (period, start)
  SELECT DISTINCT '15m', w FROM (
    SELECT to_timestamp(floor(extract(epoch FROM entered_at) / 900) * 900) AS w FROM new_rows
    UNION
    SELECT to_timestamp(floor(extract(epoch FROM answered_at) / 900) * 900) FROM new_rows
    WHERE answered_at IS NOT NULL
  ) marked
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION stats_mark_contact_windows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stats_dirtywindow (period, start)
  SELECT DISTINCT '15m', to_timestamp(floor(extract(epoch FROM entered_at) / 900) * 900)
  FROM new_rows
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("stats", "0005_fact_time_indexes")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
