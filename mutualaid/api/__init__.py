"""The partner API's shared pieces (API.md): key authentication and throttling (auth), pagination,
money and the documented shapes (schema), the one exception handler (errors), Idempotency-Key (idempotency).

Modules are imported by name, never from here: DRF loads the authentication, permission and throttle
classes while `rest_framework.views` is still being imported, so `auth` must not import views.
"""
