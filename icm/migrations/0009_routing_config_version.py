"""The routing configuration's version (icm routes calls from a table in memory, see
icm.routing_lookup.LiveRouting): a one-row table that a trigger moves in the same transaction
as every change to a table routing reads, so a reader sees the new version exactly when it can
see the new data. Values come from a sequence: a rolled-back change never hands its number to
a later one, and flushing the routing tables never brings an old number back."""

from django.db import migrations

ROUTING_TABLES = (
    "icm_inboundroute",
    "icm_routingrule",
    "icm_schedule",
    "icm_schedulerule",
    "icm_holiday",
    "icm_queue",
    "ivr_flow",
    "ivr_flowversion",
)

CREATE = """
CREATE SEQUENCE icm_routing_config_seq;
CREATE TABLE icm_routing_config_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO icm_routing_config_version VALUES (1, nextval('icm_routing_config_seq'));
CREATE FUNCTION icm_bump_routing_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO icm_routing_config_version VALUES (1, nextval('icm_routing_config_seq'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
""" + "".join(
    f"CREATE TRIGGER routing_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION icm_bump_routing_version();\n"
    for table in ROUTING_TABLES
)

DROP = "".join(f"DROP TRIGGER routing_version ON {table};\n" for table in ROUTING_TABLES) + (
    "DROP FUNCTION icm_bump_routing_version();\n"
    "DROP TABLE icm_routing_config_version;\n"
    "DROP SEQUENCE icm_routing_config_seq;\n"
)


class Migration(migrations.Migration):
    dependencies = [("icm", "0008_call_ani_recent_index"), ("ivr", "0003_prompt")]

    operations = [migrations.RunSQL(CREATE, DROP)]
