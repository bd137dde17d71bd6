"""Lists: `?page=N&page_size=` (at most 500) → {count, next, previous, results}."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:
    from rest_framework.views import APIView


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated(
    *,
    request: Request,
    view: APIView,
    queryset: models.QuerySet[Any],
    serializer: type[serializers.BaseSerializer[Any]],
) -> Response:
    paginator = PagePagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context={"request": request}).data)
