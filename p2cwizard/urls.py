from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Password reset needs mail: without EMAIL_URL its pages do not exist.
account_urls = [
    pattern
    for pattern in auth_urls.urlpatterns
    if settings.PASSWORD_RESET_ENABLED or not pattern.name.startswith("password_reset")
]
login = auth_views.LoginView.as_view(
    extra_context={"password_reset_enabled": settings.PASSWORD_RESET_ENABLED}
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", login, name="login"),
    path("accounts/", include(account_urls)),
    path("", include("migration.urls")),
]
