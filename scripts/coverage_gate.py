"""Fail when a module's line coverage is under its floor (95%, 100% for flows/services)."""

import json
import sys
from pathlib import Path

FLOOR = 95.0
FULL = ("config_flow.py", "services.py")


def main() -> int:
    report = json.loads(Path(sys.argv[1]).read_text())
    failures = []
    for name, data in sorted(report["files"].items()):
        percent = data["summary"]["percent_covered"]
        floor = 100.0 if name.endswith(FULL) else FLOOR
        if percent < floor:
            failures.append(f"  {name}: {percent:.1f}% < {floor:.0f}%")
    if failures:
        print("Coverage below the floor:\n" + "\n".join(failures))
        return 1
    print(f"Coverage gate: {len(report['files'])} modules at or above their floor.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
