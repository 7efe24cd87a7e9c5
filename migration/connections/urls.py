from django.urls import path

from . import views

urlpatterns = [
    path("", views.connections, name="connections"),
    path("pulls/", views.pull_create, name="pull_create"),
    path("check/<slug:step>/", views.environment_check, name="environment_check"),
]
