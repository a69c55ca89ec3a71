"""What the guestbook keeps."""

from django.db import models


class Entry(models.Model):
    """One signature: a name and when it was written."""

    name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
