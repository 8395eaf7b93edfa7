"""Team leaders no longer hold `agents.change_workgroup`: through the admin it let them change
any group's leaders and queues, unaudited. They manage their own groups' members on
`/supervision/work-groups/` (scoped and audited, SV-13)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    leaders = Group.objects.filter(name="Team leaders").first()
    perm = Permission.objects.filter(content_type__app_label="agents",
                                     codename="change_workgroup").first()
    if leaders is not None and perm is not None:
        leaders.permissions.remove(perm)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    leaders = Group.objects.filter(name="Team leaders").first()
    perm = Permission.objects.filter(content_type__app_label="agents",
                                     codename="change_workgroup").first()
    if leaders is not None and perm is not None:
        leaders.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0003_bulletins"), ("agents", "0008_work_group_queues")]

    operations = [migrations.RunPython(forwards, backwards)]
