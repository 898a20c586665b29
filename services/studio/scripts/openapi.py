"""Write numbers-api's and call-orchestrator's OpenAPI documents, built from their app factories.

Nothing connects: `create_app(settings)` opens connections only in its lifespan, which never runs
here. Dev mode, so numbers-api's `POST /dev/token` (the Studio's dev sign-in) is in the document.

    uv run --all-packages python services/studio/scripts/openapi.py [OUT_DIR]

OUT_DIR defaults to `services/studio/openapi/`; `scripts/api-types.sh` turns the documents into
TypeScript and checks both against the committed files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from call_orchestrator import main as call_orchestrator
from call_orchestrator.config import Settings as CallOrchestratorSettings
from numbers_api import main as numbers_api
from numbers_api.config import Settings as NumbersApiSettings

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "openapi"


def _documents() -> dict[str, Callable[[], dict[str, Any]]]:
    """Each service's name and how to build its OpenAPI document."""
    # Explicit values win over the environment, so a developer's variables cannot change the output.
    return {
        "numbers-api": lambda: numbers_api.create_app(NumbersApiSettings(dev_mode=True)).openapi(),
        "call-orchestrator": lambda: call_orchestrator.create_app(
            CallOrchestratorSettings(dev_mode=True)
        ).openapi(),
    }


def write_documents(out: Path) -> list[Path]:
    """Write `<service>.json` for each service into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in _documents().items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> None:
    """`openapi.py [OUT_DIR]`."""
    out = Path(argv[0]) if argv else DEFAULT_OUT
    for path in write_documents(out):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
