from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    default_site = "frt_crm.admin.CrmAdminSite"
