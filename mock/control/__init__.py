"""The mock's control API (``/__mock``, described by ``openapi/mock-admin.yaml``), resolved like the
API itself: ``mock.control.<tag>.<snake_case operationId>``; its one tag is ``admin``."""
