"""Digest as JSON: the whole data model, for notebooks and other tools.

Written element by element so a digest of thousands of reports never exists as one big string;
the file is exactly what `Digest.model_validate_json` reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from ..atomic import atomic_path
from ..digest import Digest


def write(d: Digest, out: Path) -> list[Path]:
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("{")
        for i, name in enumerate(type(d).model_fields):
            value = getattr(d, name)
            fh.write(("," if i else "") + "\n" + json.dumps(name) + ": ")
            if isinstance(value, list):
                fh.write("[")
                for j, v in enumerate(value):
                    fh.write(("," if j else "") + "\n")
                    fh.write(v.model_dump_json() if isinstance(v, BaseModel) else json.dumps(v, ensure_ascii=False))
                fh.write("]")
            else:
                fh.write(json.dumps(d.model_dump(mode="json", include={name})[name], ensure_ascii=False))
        fh.write("\n}\n")
    return [out]
