"""Users, roles and notification targets in Django's admin (admins only)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from .models import NotifyTarget, Profile, Run


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False


class ConsoleUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "is_active", "is_superuser")


admin.site.unregister(User)
admin.site.register(User, ConsoleUserAdmin)
admin.site.register(NotifyTarget)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "site", "actor", "state", "created", "finished")
    list_filter = ("kind", "state")
    search_fields = ("site", "actor")
    readonly_fields = [f.name for f in Run._meta.fields]

    def has_add_permission(self, request):
        return False
