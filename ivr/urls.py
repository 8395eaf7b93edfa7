"""HTTP routes of the IVR: the flow editor pages and its API."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("ivr/flows/", views.flow_list, name="ivr-flows"),
    path("ivr/flows/<slug:name>/", views.flow_editor, name="ivr-flow-editor"),
    path("api/ivr/node-types/", api.NodeTypesView.as_view(), name="api-ivr-node-types"),
    path("api/ivr/prompts/", api.PromptListView.as_view(), name="api-ivr-prompts"),
    path("api/ivr/prompts/<slug:name>/audio/", api.PromptAudioView.as_view()),
    path("api/ivr/flows/", api.FlowListView.as_view(), name="api-ivr-flows"),
    path("api/ivr/flows/<slug:name>/", api.FlowDetailView.as_view(), name="api-ivr-flow"),
    path("api/ivr/flows/<slug:name>/validate/", api.ValidateView.as_view()),
    path("api/ivr/flows/<slug:name>/simulate/", api.SimulateView.as_view()),
    path("api/ivr/flows/<slug:name>/diff/", api.DiffView.as_view()),
    path("api/ivr/flows/<slug:name>/versions/", api.VersionListView.as_view()),
    path("api/ivr/flows/<slug:name>/versions/<int:number>/", api.VersionDetailView.as_view()),
    path("api/ivr/flows/<slug:name>/versions/<int:number>/publish/", api.PublishView.as_view()),
    path("api/ivr/flows/<slug:name>/versions/<int:number>/rollback/", api.RollbackView.as_view()),
]
