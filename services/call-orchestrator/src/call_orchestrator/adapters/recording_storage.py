"""Where recordings are read and deleted: S3-compatible object storage through boto3 (each request
in a thread, under `RECORDING_STORAGE_TIMEOUT_S`), or the local files egress wrote.

`RecordingFiles` is the port the handlers use. Errors: `StorageError` (base), `StorageUnavailable`
(storage unreachable, refusing or slow: trying again may work; nothing was changed) and
`ObjectMissing` (the storage answered that the file is not there).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import ClientError

from call_orchestrator.adapters.postgres import StoredObject
from call_orchestrator.config import S3Settings

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

log = structlog.get_logger(__name__)
CHUNK_BYTES = 64 * 1024
S3 = "s3"
FILE = "file"
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
CONTENT_TYPES = {".ogg": "audio/ogg", ".wav": "audio/wav", ".mp4": "audio/mp4", ".m4a": "audio/mp4"}
# An upload's deadline grows with the file's size, as if the link carried at least this much.
UPLOAD_BYTES_PER_S = 256 * 1024


class StorageError(Exception):
    """Base of the recording storage's failures."""

    retryable = False


class StorageUnavailable(StorageError):
    """The storage did not do what was asked (unreachable, refused, slow, not configured)."""

    retryable = True


class ObjectMissing(StorageError):
    """The storage holds no such file."""


class RecordingFiles(Protocol):
    """Reading and deleting recordings' files."""

    async def download_url(self, obj: StoredObject) -> str | None:
        """A short-lived URL to download the file from, None when it is streamed instead."""
        ...

    def stream(self, obj: StoredObject) -> AsyncIterator[bytes]:
        """The file's bytes."""
        ...

    async def remove(self, obj: StoredObject) -> None:
        """Delete the file (a file already gone is not an error)."""
        ...

    async def upload(self, path: Path, bucket: str, key: str) -> str:
        """Put a local file into the bucket under `key`; the object's URL."""
        ...


class RecordingFilesAdapter:
    """RecordingFiles over boto3 (objects) and the filesystem (local files)."""

    def __init__(self, s3: S3Settings | None, *, url_ttl_s: int, timeout_s: float) -> None:
        self._s3 = s3
        self._url_ttl_s = url_ttl_s
        self._timeout_s = timeout_s
        self._client: S3Client | None = None

    def client(self) -> S3Client:
        """The S3 client (boto3 clients are thread-safe; one for the process)."""
        if self._s3 is None:
            raise StorageUnavailable("object storage is not configured (RECORDING_S3_BUCKET)")
        if self._client is None:
            self._client = boto3.client(
                "s3",
                endpoint_url=self._s3.endpoint or None,
                region_name=self._s3.region,
                aws_access_key_id=self._s3.access_key or None,
                aws_secret_access_key=self._s3.secret_key or None,
                config=Config(
                    s3={"addressing_style": "path" if self._s3.force_path_style else "auto"},
                    signature_version="s3v4",
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=min(self._timeout_s, 5.0),
                    read_timeout=self._timeout_s,
                ),
            )
        return self._client

    async def _s3_call(
        self,
        what: str,
        obj: StoredObject,
        call: Any,
        *,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            async with asyncio.timeout(timeout_s or self._timeout_s):
                return await asyncio.to_thread(call, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING_CODES:
                raise ObjectMissing(f"{obj.bucket}/{obj.key}") from exc
            log.warning("recording_storage.refused", op=what, key=obj.key, code=code)
            raise StorageUnavailable(f"object storage refused {what} ({code})") from exc
        except StorageError:
            raise
        except Exception as exc:  # the network, a timeout: the store is unavailable
            log.warning("recording_storage.unavailable", op=what, key=obj.key, error=repr(exc))
            raise StorageUnavailable(f"object storage did not answer {what}") from exc

    async def download_url(self, obj: StoredObject) -> str | None:
        """A presigned GET URL (after checking the object is there), None for local files."""
        if obj.storage != S3:
            return None
        client = self.client()
        await self._s3_call("head", obj, client.head_object, Bucket=obj.bucket, Key=obj.key)
        url: str = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": obj.bucket, "Key": obj.key},
            ExpiresIn=self._url_ttl_s,
        )
        return url

    async def stream(self, obj: StoredObject) -> AsyncIterator[bytes]:
        """The local file's bytes, in chunks."""
        path = anyio.Path(obj.key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(obj.key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"recording file cannot be read: {exc.strerror}") from exc
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def remove(self, obj: StoredObject) -> None:
        """Delete the object (S3's delete is idempotent) or the local file."""
        if obj.storage == S3:
            client = self.client()
            await self._s3_call("delete", obj, client.delete_object, Bucket=obj.bucket, Key=obj.key)
            return
        try:
            await asyncio.to_thread(Path(obj.key).unlink, missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"recording file cannot be deleted: {exc.strerror}") from exc

    async def upload(self, path: Path, bucket: str, key: str) -> str:
        """Upload the file (ObjectMissing when it is not there), given as long as a slow link
        needs for its size (at least the storage timeout); the object's path-style URL."""
        client = self.client()
        obj = StoredObject(storage=S3, bucket=bucket, key=key)
        try:
            size = await asyncio.to_thread(lambda: path.stat().st_size)
        except FileNotFoundError as exc:
            raise ObjectMissing(str(path)) from exc
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        await self._s3_call(
            "upload",
            obj,
            client.upload_file,
            timeout_s=self._timeout_s + size / UPLOAD_BYTES_PER_S,
            Filename=str(path),
            Bucket=bucket,
            Key=key,
            ExtraArgs={"ContentType": content_type},
        )
        return f"{client.meta.endpoint_url.rstrip('/')}/{bucket}/{key}"

    def close(self) -> None:
        """Close the S3 client's connections."""
        if self._client is not None:
            self._client.close()
