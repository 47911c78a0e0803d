"""Print the figures of the fault-injection tests (var/ci/faults.json) as `.ci/run` shows them:

.venv/bin/python tests/faults/summary.py var/ci/faults.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def lines(figures: list[dict]) -> list[str]:
    out = []
    for f in figures:
        faults = ", ".join(
            f"{fault['kind']} at {fault['at_progress']:.0%}"
            if fault["at_progress"] <= 1
            else f"{fault['kind']}"
            for fault in f["faults"]
        )
        out.append(
            f"{f['scenario']}: {f['messages']} messages (+{f['warm_up']} before, "
            f"+{f['redeliveries']} redelivered), {len(f['faults'])} faults ({faults}); "
            f"lost {f['lost']}, duplicated {f['duplicated_contacts']}, "
            f"tickets {f['tickets']}/{f['tickets_expected']}, "
            f"triaged twice {f['triaged_more_than_once']}, "
            f"left new after the sweep {f['left_new_after_sweep']} "
            f"(swept {f['swept']}), quarantined {f['quarantined']}, "
            f"first deliveries reported duplicate {f['first_deliveries_misreported_duplicate']}, "
            f"inputs re-fed {f['inputs_refed']} (ingest_email exits {f['intake_exit_codes']}), "
            f"sent twice {f['sent_twice']}, "
            f"worker restarted by the supervisor {len(f.get('worker_deaths', []))}; "
            f"time to recover {f['time_to_recover_s']} s, "
            f"to all triaged after the burst {f['time_to_all_triaged_s']} s, "
            f"burst {f['burst_seconds']} s, scenario {f['total_seconds']} s"
        )
    return out


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "var/ci/faults.json")
    sys.stdout.write("\n".join(lines(json.loads(path.read_text()))) + "\n")
