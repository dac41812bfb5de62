"""URLs of the console."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from console.web import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("status/refresh", views.refresh_status, name="refresh_status"),
    path("sites/<str:site>/", views.site, name="site"),
    path("sites/<str:site>/deploy", views.deploy, name="deploy"),
    path("sites/<str:site>/rollback", views.rollback, name="rollback"),
    path("sites/<str:site>/env/preview", views.env_preview, name="env_preview"),
    path("sites/<str:site>/env/apply", views.env_apply, name="env_apply"),
    path("sites/<str:site>/artisan", views.artisan, name="artisan"),
    path("sites/<str:site>/logs", views.logs, name="logs"),
    path("runs/", views.history, name="history"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("runs/<int:pk>/events", views.run_events, name="run_events"),
    path("runs/<int:pk>/output.txt", views.run_output, name="run_output"),
    path("cleanup/", views.cleanup, name="cleanup"),
    path("cleanup/<str:kind>/plan", views.cleanup_plan, name="cleanup_plan"),
    path("cleanup/retire", views.retire, name="retire"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
