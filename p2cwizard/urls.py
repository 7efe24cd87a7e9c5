from django.conf import settings
from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from migration.views import accounts

# Password reset needs mail: without EMAIL_URL its pages do not exist. Signing in and out are ours.
account_urls = [
    pattern
    for pattern in auth_urls.urlpatterns
    if (settings.PASSWORD_RESET_ENABLED or not pattern.name.startswith("password_reset"))
    and pattern.name not in ("login", "logout")
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts.sign_out, name="logout"),
    path("accounts/microsoft/", accounts.microsoft_sign_in, name="microsoft_sign_in"),
    path("accounts/microsoft/callback/", accounts.microsoft_callback, name="microsoft_callback"),
    path("accounts/", include(account_urls)),
    path("", include("migration.urls")),
]
