"""URLs of supervision."""

from django.urls import include, path

from supervision import intercept_views, views, wallboard_views

urlpatterns = [
    path(
        "api/supervision/agents/<str:login_id>/<str:action>/",
        views.agent_action,
        name="api-supervision-agent",
    ),
    path(
        "api/supervision/queues/<str:queue>/assign/",
        views.assign_call,
        name="api-supervision-assign",
    ),
    path(
        "api/supervision/record-orders/",
        views.record_orders_api,
        name="api-supervision-record-orders",
    ),
    path(
        "api/supervision/record-orders/<int:order_id>/cancel/",
        views.record_order_cancel_api,
        name="api-supervision-record-order-cancel",
    ),
    path(
        "api/supervision/intercepts/",
        intercept_views.intercepts_api,
        name="api-supervision-intercepts",
    ),
    path(
        "api/supervision/intercepts/<int:ident>/cancel/",
        intercept_views.intercept_cancel_api,
        name="api-supervision-intercept-cancel",
    ),
    path("api/supervision/audit/", views.audit_api, name="api-supervision-audit"),
    path("api/supervision/bulletins/", views.bulletin_send, name="api-supervision-bulletins"),
    path(
        "api/supervision/bulletins/<int:bulletin_id>/",
        views.bulletin_receipts,
        name="api-supervision-bulletin",
    ),
    path("supervision/audit/", views.audit_page, name="supervision-audit"),
    path("wallboard/", wallboard_views.wallboard_page, name="wallboard"),
    path("api/wallboard/", wallboard_views.wallboard_api, name="api-wallboard"),
    path("api/supervision/events/", wallboard_views.events_api, name="api-supervision-events"),
    path("supervision/events/", wallboard_views.events_page, name="supervision-events"),
    path("", include("supervision.workgroup_urls")),
]
