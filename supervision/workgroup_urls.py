"""URLs of work-group management (SV-13), included from supervision.urls."""

from django.urls import path

from supervision import workgroup_views

urlpatterns = [
    path(
        "api/supervision/work-groups/",
        workgroup_views.work_groups,
        name="api-supervision-work-groups",
    ),
    path(
        "api/supervision/work-groups/<int:group_id>/",
        workgroup_views.work_group,
        name="api-supervision-work-group",
    ),
    path(
        "api/supervision/work-groups/<int:group_id>/agents/",
        workgroup_views.work_group_agents,
        name="api-supervision-work-group-agents",
    ),
    path(
        "supervision/work-groups/",
        workgroup_views.work_groups_page,
        name="supervision-work-groups",
    ),
]
