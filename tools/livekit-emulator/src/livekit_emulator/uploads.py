"""Egress uploads: a file output with an `s3` config is uploaded where LiveKit Egress puts it.

LiveKit Egress (livekit/egress `pkg/pipeline/sink/uploader`) writes the file locally, uploads it to
`<bucket>/<filepath>` and reports `FileInfo.filename` = the storage path and `location` = where
the object now is; a failed upload ends the egress `EGRESS_FAILED` with the error
"S3 upload failed: ...", unless egress has a backup storage: then the file is written there
(`copy_to_dir`, livekit/storage's local uploader) and the egress reports `backup_storage_used`.
Credentials given in the request never appear in the EgressInfo it
returns (livekit/protocol `egress.RedactUpload`: "{access_key}", "{secret}").
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from livekit.protocol.egress import EncodedFileOutput, S3Upload

CONTENT_TYPES = {".ogg": "audio/ogg", ".wav": "audio/wav", ".mp4": "audio/mp4", ".m4a": "audio/mp4"}
DEFAULT_REGION = "us-east-1"


class UploadFailed(Exception):
    """The object store refused the upload or could not be reached."""


@dataclass(frozen=True)
class S3Target:
    """Where an egress uploads its file, from the request's `S3Upload`."""

    bucket: str
    region: str
    endpoint: str
    force_path_style: bool
    access_key: str
    secret: str
    session_token: str

    @classmethod
    def of(cls, output: EncodedFileOutput) -> S3Target | None:
        """The output's S3 upload, None when the file stays local."""
        if not output.HasField("s3"):
            return None
        s3 = output.s3
        return cls(
            bucket=s3.bucket,
            region=s3.region or DEFAULT_REGION,
            endpoint=s3.endpoint,
            force_path_style=s3.force_path_style,
            access_key=s3.access_key,
            secret=s3.secret,
            session_token=s3.session_token,
        )

    def location(self, key: str) -> str:
        """The object's URL as Egress reports it (the S3 upload manager's `Location`)."""
        if self.endpoint:
            endpoint = self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}"
            if self.force_path_style:
                return f"{endpoint.rstrip('/')}/{self.bucket}/{key}"
            parts = urlsplit(endpoint)
            return f"{parts.scheme}://{self.bucket}.{parts.netloc}/{key}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{key}"

    def upload(self, path: Path, key: str) -> str:
        """Upload the file to `<bucket>/<key>` (blocking: run it in a thread); its location."""
        client = boto3.client(
            "s3",
            region_name=self.region,
            endpoint_url=(
                (self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
                if self.endpoint
                else None
            ),
            aws_access_key_id=self.access_key or None,
            aws_secret_access_key=self.secret or None,
            aws_session_token=self.session_token or None,
            config=Config(
                s3={"addressing_style": "path" if self.force_path_style else "auto"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        try:
            client.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        except Exception as exc:  # botocore's errors and the network's: Egress reports them all
            raise UploadFailed(f"S3 upload failed: {exc}") from exc
        finally:
            client.close()
        return self.location(key)


def copy_to_dir(path: Path, directory: Path, storage_path: str) -> str:
    """Write the file to `<directory>/<storage_path>` (blocking); its absolute path, the location
    livekit/storage's local uploader reports."""
    target = (directory / storage_path.lstrip("/")).absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    except OSError as exc:
        raise UploadFailed(f"Local upload failed: {exc}") from exc
    return str(target)


def redact(output: EncodedFileOutput) -> None:
    """Hide the upload's credentials, as LiveKit does before an EgressInfo leaves it."""
    if output.HasField("s3"):
        s3: S3Upload = output.s3
        for name, placeholder in (
            ("access_key", "{access_key}"),
            ("secret", "{secret}"),
            ("session_token", "{session_token}"),
            ("assume_role_external_id", "{external_id}"),
        ):
            if getattr(s3, name):
                setattr(s3, name, placeholder)
