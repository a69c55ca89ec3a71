"""The API: POST /entries, GET /entries/<id>; /healthz and /readyz for the probes."""

import json

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .models import Entry


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """The process serves: what the HEALTHCHECK and a liveness probe ask."""
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """The database answers, its tables migrated: what a readiness probe asks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Entry._meta.db_table} LIMIT 1")  # noqa: S608
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "error": str(error)}, status=503)
    return JsonResponse({"status": "ready"})


@require_POST
def sign(request: HttpRequest) -> JsonResponse:
    """Store an entry (a JSON body with its name): 201 with its id once committed."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    entry = Entry(name=body.get("name") if isinstance(body, dict) else None)
    try:
        entry.full_clean()
    except ValidationError as error:
        return JsonResponse({"error": error.message_dict}, status=400)
    entry.save()
    return JsonResponse({"id": entry.pk}, status=201)


@require_GET
def entry(request: HttpRequest, number: int) -> JsonResponse:
    found = Entry.objects.filter(pk=number).first()
    if found is None:
        return JsonResponse({"error": "no such entry"}, status=404)
    return JsonResponse({"id": found.pk, "name": found.name, "created": found.created.isoformat()})
