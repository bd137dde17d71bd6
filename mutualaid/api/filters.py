"""Query parameters of the lists, checked like a body: a parameter sent empty is refused, not ignored."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers


class QueryFilters(serializers.Serializer[Any]):
    """The filters of a list. DRF reads an empty optional form value (`?status=`) as absent, so such a
    filter would quietly select everything; a partner who sent one meant something, so it is refused."""

    def to_internal_value(self, data: Any) -> Any:
        blank = {
            name: [_("Give a value, or leave the parameter out.")]
            for name, _field in self.fields.items()
            if hasattr(data, "getlist") and "" in data.getlist(name)
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)
