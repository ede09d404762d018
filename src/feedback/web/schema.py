"""The OpenAPI schema says what the server does: a body that refuses unknown fields declares so, and the
items of a list field keep their constraints (Litestar drops them from ``list[Name] | None``, so a client
could send, as schema-valid, a choice the server refuses)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Reference, Schema
    from litestar.typing import FieldDefinition


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """msgspec bodies: ``additionalProperties: false`` with ``forbid_unknown_fields=True``; list items' text
    constraints (pattern, length) as msgspec checks them."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            text = _list_item_text(field.type)
            prop = (schema.properties or {}).get(field.encode_name)
            if text is not None and prop is not None:
                for array in _arrays(prop):
                    _constrain(array, text)
        return schema


def _list_item_text(kind: msgspec.inspect.Type) -> msgspec.inspect.StrType | None:
    """The constrained text type of a list's items (the list may be optional)."""
    options = kind.types if isinstance(kind, msgspec.inspect.UnionType) else (kind,)
    for option in options:
        if isinstance(option, msgspec.inspect.ListType):
            item = option.item_type
            if isinstance(item, msgspec.inspect.StrType):
                return item
    return None


def _arrays(prop: Schema | Reference) -> list[Schema]:
    from litestar.openapi.spec import Schema

    if not isinstance(prop, Schema):
        return []
    candidates = [prop, *(prop.one_of or []), *(prop.any_of or [])]
    return [c for c in candidates if isinstance(c, Schema) and c.items is not None]


def _constrain(array: Schema, text: msgspec.inspect.StrType) -> None:
    """The array's items with ``text``'s constraints (a copy: Litestar may share an items schema)."""
    from litestar.openapi.spec import Schema

    if isinstance(array.items, Schema):
        array.items = replace(
            array.items, pattern=text.pattern, min_length=text.min_length, max_length=text.max_length
        )
