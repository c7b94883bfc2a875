"""Known vulnerabilities in the locked dependencies, read from a local advisory file (no network).

The advisory file is JSON in one of the shapes the usual tools write:
- pip-audit's `--format json`: `{"dependencies": [{"name", "version", "vulns": [{"id", "fix_versions",
  "aliases", "description"}]}]}` (each entry already names the version it was found in);
- OSV records: one record, a list of them, or an OSV query answer `{"vulns": [...]}` / `{"results":
  [{"vulns": [...]}]}`; a record's `affected` entries name a PyPI package with `versions` and/or
  `ECOSYSTEM` ranges (`introduced` / `fixed` / `last_affected` events).
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


class AdvisoryFileError(ValueError):
    """The advisory file is not JSON in a shape this module reads."""


@dataclass(frozen=True)
class Finding:
    name: str
    version: str
    advisory: str
    aliases: tuple[str, ...] = ()
    fixed_in: tuple[str, ...] = ()
    summary: str = ""


@dataclass
class _Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    versions: set[str] = field(default_factory=set)
    ranges: list[list[dict]] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)


def read_pins(paths):
    """`{canonical name: (name as written, version)}` from `name==version` lines of lock files."""
    pins = {}
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            m = _PIN.match(line.strip())
            if m:
                pins[canonicalize_name(m.group(1))] = (m.group(1), m.group(2))
    return pins


def load_advisories(path):
    """The advisory file's entries: `{canonical name: [_Advisory, …]}`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdvisoryFileError(f"{path}: {exc}") from exc
    out = {}
    if isinstance(data, dict) and "dependencies" in data:
        for dep in data["dependencies"]:
            for v in dep.get("vulns") or ():
                adv = _Advisory(v["id"], tuple(v.get("aliases") or ()), v.get("description") or "",
                                versions={dep["version"]}, fixed=list(v.get("fix_versions") or ()))
                out.setdefault(canonicalize_name(dep["name"]), []).append(adv)
        return out
    for record in _osv_records(data):
        for affected in record.get("affected") or ():
            pkg = affected.get("package") or {}
            if pkg.get("ecosystem", "PyPI") != "PyPI" or not pkg.get("name"):
                continue
            ranges = [r.get("events") or [] for r in affected.get("ranges") or () if r.get("type") == "ECOSYSTEM"]
            adv = _Advisory(record["id"], tuple(record.get("aliases") or ()),
                            record.get("summary") or record.get("details", "")[:200],
                            versions=set(affected.get("versions") or ()), ranges=ranges,
                            fixed=[e["fixed"] for events in ranges for e in events if "fixed" in e])
            out.setdefault(canonicalize_name(pkg["name"]), []).append(adv)
    return out


def _osv_records(data):
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if not isinstance(data, dict):
        raise AdvisoryFileError("expected a JSON object or list")
    if "results" in data:
        return [v for r in data["results"] for v in (r or {}).get("vulns") or ()]
    if "vulns" in data:
        return data["vulns"]
    if "id" in data:
        return [data]
    raise AdvisoryFileError("neither pip-audit (`dependencies`) nor OSV (`id`, `vulns`, `results`) JSON")


def _in_range(version, events):
    """OSV ECOSYSTEM range semantics: affected from an `introduced` up to a `fixed` (excluded) or a
    `last_affected` (included); events are in order."""
    try:
        v = Version(version)
        affected = False
        for e in events:
            if "introduced" in e:
                affected = affected or (e["introduced"] == "0" or v >= Version(e["introduced"]))
            elif "fixed" in e and v >= Version(e["fixed"]):
                affected = False
            elif "last_affected" in e and v > Version(e["last_affected"]):
                affected = False
        return affected
    except InvalidVersion:
        return False


def _affects(adv, version):
    return version in adv.versions or any(_in_range(version, events) for events in adv.ranges)


def vulnerable(pins, advisories):
    """The findings for pinned versions named by an advisory, sorted by package then advisory id."""
    found = []
    for key, (name, version) in pins.items():
        for adv in advisories.get(key, ()):
            if _affects(adv, version):
                found.append(Finding(name, version, adv.id, adv.aliases, tuple(adv.fixed), adv.summary))
    return sorted(set(found), key=lambda f: (canonicalize_name(f.name), f.advisory))
