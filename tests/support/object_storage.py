"""A real S3-compatible server on loopback for tests: moto's server mode on a free port."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from talkifai_common import devinfra

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key-0123456789"
REGION = "us-east-1"


@dataclass
class ObjectStorage:
    """A running S3-compatible server: its endpoint, credentials and a client to look inside."""

    endpoint: str
    server: ThreadedMotoServer
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def stop(self) -> None:
        """Take the server down (its objects stay in moto's memory)."""
        self.server.stop()

    def start_again(self) -> None:
        """Serve again on the same port, with the same objects."""
        port = int(self.endpoint.rsplit(":", 1)[1])
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def new_bucket(self) -> str:
        """A fresh, empty bucket."""
        name = f"recordings-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """The bucket's object keys."""
        listed = self.client().list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listed.get("Contents", [])]

    def read(self, bucket: str, key: str) -> bytes:
        """An object's bytes."""
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body


def recording_settings(storage: ObjectStorage, bucket: str, prefix: str) -> dict[str, Any]:
    """call-orchestrator's RECORDING_S3_* settings for a bucket of this server."""
    return {
        "recording_s3_bucket": bucket,
        "recording_s3_prefix": prefix,
        "recording_s3_endpoint": storage.endpoint,
        "recording_s3_region": storage.region,
        "recording_s3_access_key": storage.access_key,
        "recording_s3_secret_key": storage.secret_key,
        "recording_s3_force_path_style": True,
    }


@contextlib.contextmanager
def object_storage() -> Iterator[ObjectStorage]:
    """moto's S3 server in a thread on a free loopback port, stopped on the way out."""
    port = devinfra.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    storage = ObjectStorage(endpoint=f"http://127.0.0.1:{port}", server=server)
    try:
        yield storage
    finally:
        with contextlib.suppress(Exception):  # already stopped by a test
            storage.server.stop()


def unused_endpoint() -> str:
    """An S3 endpoint where nothing listens (object storage down)."""
    return f"http://127.0.0.1:{devinfra.free_port()}"
