"""The role groups (ICM-8): Administrators, Team leaders, Agents, with their permissions."""

from django.db import migrations

APPS = ("agents", "icm", "ivr", "recording", "fax", "stats", "supervision")
TEAM_LEADER_PERMS = (
    ("icm", "view_call"), ("icm", "view_queue"), ("icm", "view_callleg"),
    ("agents", "view_agent"), ("agents", "view_workgroup"), ("agents", "change_workgroup"),
    ("agents", "view_scheduledcallback"), ("supervision", "view_auditentry"),
)


def create_roles(apps, schema_editor):  # noqa: ANN001, ANN201
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for config in global_apps.get_app_configs():  # permissions exist after post_migrate only
        create_permissions(config, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins, _ = Group.objects.get_or_create(name="Administrators")
    admins.permissions.set(Permission.objects.filter(content_type__app_label__in=APPS))
    leaders, _ = Group.objects.get_or_create(name="Team leaders")
    wanted = [Permission.objects.filter(content_type__app_label=app, codename=code).first()
              for app, code in TEAM_LEADER_PERMS]
    leaders.permissions.set([p for p in wanted if p is not None])
    Group.objects.get_or_create(name="Agents")


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
