"""A check report as JUnit XML, the format CI systems (GitHub Actions reporters, GitLab, Jenkins) show.

One testsuite per rule, one testcase per trace it was checked on (a single "all N traces" testcase
for a rule over the whole set); a rule that does not hold on a trace is a <failure> whose message is
the first line of what failed and whose text names the spans responsible.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from spanscope.core.evaluation.assertions import CheckReport


def junit_xml(report: CheckReport) -> bytes:
    root = ET.Element("testsuites", name="spanscope check")
    total = failed = 0
    for number, rule in enumerate(report.rules, 1):
        verdicts = report.of(rule)
        failures = sum(not v.holds for v in verdicts)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"rule {number}: {rule.text}",
            tests=str(len(verdicts)),
            failures=str(failures),
            errors="0",
            skipped="0",
        )
        for verdict in verdicts:
            case = ET.SubElement(
                suite, "testcase", name=verdict.label, classname=f"spanscope.check.rule{number}"
            )
            if not verdict.holds:
                failure = ET.SubElement(case, "failure", message=verdict.reason, type="rule")
                failure.text = "\n".join([rule.text, *verdict.lines()])
        total += len(verdicts)
        failed += failures
    root.set("tests", str(total))
    root.set("failures", str(failed))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
