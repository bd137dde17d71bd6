"""Lists: `?page=N&page_size=` (at most 500) → {count, next, previous, results}."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:
    from rest_framework.views import APIView


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        """A larger page size than 500 is capped (API.md); one that is not a whole number above 0 is refused,
        where DRF would quietly use the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("Give a whole number from 1; at most 500 items are returned.")]}
            )
        return min(int(raw), self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> Any:
        """A page that is not a whole number from 1 is refused (400); a page past the last stays a 404."""
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and (not raw.isascii() or not raw.isdigit() or int(raw) < 1):
            raise exceptions.ValidationError({self.page_query_param: [_("Give a whole number from 1.")]})
        return super().paginate_queryset(queryset, request, view=view)


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


@functools.cache
def page_of(serializer: type[serializers.BaseSerializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The schema of one page of a list: `paginated` is called by hand in plain API views, so the schema
    generator cannot see the page around the items and would describe a bare array."""
    fields: dict[str, Any] = {
        "count": serializers.IntegerField(help_text="How many items the whole list has."),
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
        "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null on the first."),
        "results": serializer(many=True),
    }
    name = f"{serializer.__name__.removesuffix('Serializer')}PageSerializer"
    page: type[serializers.Serializer[Any]] = type(name, (serializers.Serializer,), fields)
    return page
