"""The database refuses to change or delete a recorded ID number reveal, whoever asks.

PostgreSQL: UPDATE and DELETE are refused by a trigger (TRUNCATE, which only a test run's flush uses,
is not). SQLite: UPDATE is refused; DELETE is left to the model, because SQLite's flush between
transactional tests deletes rows one table at a time.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION members_idnumberreveal_write_once() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ID number reveals are written once and never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER members_idnumberreveal_write_once
    BEFORE UPDATE OR DELETE ON members_idnumberreveal
    FOR EACH ROW EXECUTE FUNCTION members_idnumberreveal_write_once();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS members_idnumberreveal_write_once ON members_idnumberreveal;
DROP FUNCTION IF EXISTS members_idnumberreveal_write_once();
"""
SQLITE_FORWARD = """
CREATE TRIGGER members_idnumberreveal_write_once BEFORE UPDATE ON members_idnumberreveal
BEGIN SELECT RAISE(ABORT, 'ID number reveals are written once and never changed'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS members_idnumberreveal_write_once;"


def forward(apps, schema_editor):
    sql = {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    sql = {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_security_and_notifications")]

    operations = [migrations.RunPython(forward, backward)]
