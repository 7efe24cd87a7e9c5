from django.urls import path

from . import views

urlpatterns = [
    path("", views.connections, name="connections"),
    path("pulls/", views.pull_create, name="pull_create"),
]
