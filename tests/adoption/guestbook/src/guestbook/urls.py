"""The routes (ROOT_URLCONF); static files are whitenoise's, before these."""

from django.urls import path

from . import views

urlpatterns = [
    path("healthz", views.health),
    path("readyz", views.ready),
    path("entries", views.sign),
    path("entries/<int:number>", views.entry),
]
