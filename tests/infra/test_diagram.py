"""The architecture diagram (docs, Architecture) (its one ```mermaid block) is held to the synthesized template.

The diagram's conventions, which ``diagram_problems`` enforces:

- one declaration per line, ``Id<shape>"label"<shape>`` (``Id["..."]``, ``Id("...")``, ``Id[("...")]``,
  ``Id{{"..."}}``, ``Id[/"..."/]`` ...), and one link per line, ``A --> B``, ``A -.-> B``, ``A --- B``, each with
  an optional ``|label|``; ``subgraph id["title"]`` ... ``end``; ``%%`` comments. Any other line is a problem, so
  nothing is skipped unread.
- A node's id is the template's logical id without its 8-character hash (``IngestBus`` is ``IngestBusAD6D06A0``).
  Nodes in the ``outside`` subgraph stand for things not in the stack and must match no logical id.
- A group node (``GROUPS``) stands for every resource of one type; its label states how many there are.
- A node whose resource has a physical name (queue, table, bus, parameter, registry) names it in its label; the
  table's label names each of its indexes.

The check: every node is in the template; every resource of a ``DRAWN`` type is drawn; every link the template
makes (queue to function, rule to target and dead-letter queue, bus to rule, redrive, URL to function, schedule
to function, and each function's IAM grants on drawn resources) is an arrow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import Synthesized, references

README = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
OUTSIDE = "outside"
GROUPS = {"MonitoringAlarms": "AWS::CloudWatch::Alarm"}
DRAWN = (
    "AWS::Lambda::Function",
    "AWS::Lambda::Url",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::EventSchemas::Registry",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SSM::Parameter",
    "AWS::SES::EmailIdentity",
    "AWS::SES::ConfigurationSet",
    "AWS::Scheduler::Schedule",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm",
)
NAME_PROPERTY = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::EventBus": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::EventSchemas::Registry": "RegistryName",
}

MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)
NODE = re.compile(r'^(?P<id>[A-Za-z]\w*)[\[\(\{>]{1,2}[/\\]?"(?P<label>[^"]*)"[/\\]?[\]\)\}]{1,2}$')
EDGE = re.compile(r"^(?P<a>[A-Za-z]\w*)\s+(?:-->|-\.->|---|==>)(?:\|[^|]*\|)?\s+(?P<b>[A-Za-z]\w*)$")
SUBGRAPH = re.compile(r'^subgraph\s+(?P<id>[A-Za-z]\w*)(?:\["[^"]*"\])?$')
LOGICAL_ID = re.compile(r"^(?P<base>[A-Za-z0-9]+?)[0-9A-F]{8}$")


@dataclass
class Diagram:
    nodes: dict[str, str] = field(default_factory=dict)  # id -> label
    outside: set[str] = field(default_factory=set)
    edges: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def parse(markdown: str) -> Diagram:
    diagram = Diagram()
    blocks = MERMAID_BLOCK.findall(markdown)
    if len(blocks) != 1:
        diagram.problems.append(f"expected one ```mermaid block, found {len(blocks)}")
        return diagram
    subgraphs: list[str] = []
    seen_subgraphs: set[str] = set()
    lines = [line.strip() for line in blocks[0].splitlines()]
    body = [line for line in lines if line and not line.startswith("%%")]
    if not body or not re.match(r"^(flowchart|graph)\s+(LR|RL|TB|TD|BT)$", body[0]):
        diagram.problems.append("the block does not start with a flowchart direction (flowchart LR)")
        return diagram
    for line in body[1:]:
        if (match := SUBGRAPH.match(line)) is not None:
            subgraphs.append(match["id"])
            seen_subgraphs.add(match["id"])
        elif line == "end":
            if not subgraphs:
                diagram.problems.append("'end' without a subgraph")
            else:
                subgraphs.pop()
        elif (match := NODE.match(line)) is not None:
            if match["id"] in diagram.nodes:
                diagram.problems.append(f"node {match['id']} declared twice")
            diagram.nodes[match["id"]] = match["label"]
            if OUTSIDE in subgraphs:
                diagram.outside.add(match["id"])
        elif (match := EDGE.match(line)) is not None:
            diagram.edges.add((match["a"], match["b"]))
        else:
            diagram.problems.append(f"line not understood (one node or one link per line): {line}")
    if subgraphs:
        diagram.problems.append(f"subgraph {subgraphs[-1]} has no 'end'")
    for a, b in sorted(diagram.edges):
        for end in (a, b):
            if end not in diagram.nodes:
                diagram.problems.append(f"link {a} -> {b}: {end} is not a declared node")
    for name in sorted(seen_subgraphs & set(diagram.nodes)):
        diagram.problems.append(f"{name} is both a subgraph and a node")
    return diagram


def _base(logical_id: str) -> str | None:
    match = LOGICAL_ID.match(logical_id)
    return match["base"] if match else None


def _refs(value: Any) -> list[str]:
    return references(value)


def template_links(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, bool]]:
    """(from, to, directed) between logical ids: what the template wires together."""
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Lambda::EventSourceMapping":
            for queue in _refs(props["EventSourceArn"]):
                for function in _refs(props["FunctionName"]):
                    yield queue, function, True
        elif kind == "AWS::Events::Rule":
            for bus in _refs(props.get("EventBusName")):
                yield bus, logical_id, True
            for target in props.get("Targets", []):
                for arn in _refs(target["Arn"]):
                    yield logical_id, arn, True
                for dlq in _refs(target.get("DeadLetterConfig")):
                    yield logical_id, dlq, True
        elif kind == "AWS::SQS::Queue" and "RedrivePolicy" in props:
            for dlq in _refs(props["RedrivePolicy"]):
                yield logical_id, dlq, True
        elif kind == "AWS::Lambda::Url":
            for function in _refs(props["TargetFunctionArn"]):
                yield logical_id, function, True
        elif kind == "AWS::Scheduler::Schedule":
            for function in _refs(props["Target"]["Arn"]):
                yield logical_id, function, True
        elif kind == "AWS::SES::EmailIdentity":
            for configuration_set in _refs(props.get("ConfigurationSetAttributes")):
                yield logical_id, configuration_set, False
    # what each function's role may touch, among the drawn resources: a link in either direction
    for function_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        (role,) = _refs(resource["Properties"]["Role"])
        for policy in resources.values():
            if policy["Type"] == "AWS::IAM::Policy" and {"Ref": role} in policy["Properties"]["Roles"]:
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    for target in _refs(statement["Resource"]):
                        yield function_id, target, False


def diagram_problems(diagram: Diagram, document: dict[str, Any]) -> list[str]:
    resources: dict[str, dict[str, Any]] = document["Resources"]
    problems = list(diagram.problems)
    if problems and not diagram.nodes:
        return problems  # no diagram to compare
    node_of: dict[str, str] = {}  # logical id -> node id
    for node, label in sorted(diagram.nodes.items()):
        matches = [lid for lid in resources if _base(lid) == node]
        if node in diagram.outside:
            if matches:
                problems.append(f"{node} is drawn outside the stack, but the template has {matches[0]}")
            continue
        if node in GROUPS:
            members = [lid for lid, r in resources.items() if r["Type"] == GROUPS[node]]
            if not re.search(rf"(?<!\d){len(members)}(?!\d)", label):
                problems.append(f"{node} stands for {len(members)} {GROUPS[node]}, but its label says {label!r}")
            node_of.update(dict.fromkeys(members, node))
            continue
        if len(matches) != 1:
            problems.append(f"{node}: no resource {node}<hash> in the template")
            continue
        (logical_id,) = matches
        node_of[logical_id] = node
        resource = resources[logical_id]
        name = resource.get("Properties", {}).get(NAME_PROPERTY.get(resource["Type"], ""))
        if isinstance(name, str) and name not in label:
            problems.append(f"{node}: the template names it {name!r}, the label says {label!r}")
        for index in resource.get("Properties", {}).get("GlobalSecondaryIndexes", []):
            if index["IndexName"] not in label:
                problems.append(f"{node}: the label does not name the index {index['IndexName']!r}")

    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] in DRAWN and logical_id not in node_of:
            problems.append(f"{logical_id} ({resource['Type']}) is not in the diagram")

    for source, target, directed in sorted(set(template_links(resources))):
        a, b = node_of.get(source), node_of.get(target)
        if a is None or b is None or a == b or a in GROUPS or b in GROUPS:
            continue  # an end that is not drawn on its own (role, log group, alarm)
        if (a, b) not in diagram.edges and (directed or (b, a) not in diagram.edges):
            link = f"arrow {a} --> {b}" if directed else f"link between {a} and {b}"
            problems.append(f"the template links {source} to {target}: no {link}")
    return problems


def test_the_readme_diagram_matches_the_template(synth: Synthesized) -> None:
    assert diagram_problems(parse(README.read_text()), synth.document) == []


# -- the check itself: it accepts a true diagram and catches each kind of drift ---------------------------------


def drawn_from(document: dict[str, Any]) -> str:
    """A diagram that is true by construction: every drawn resource and every link of the template."""
    resources = document["Resources"]
    lines = ["flowchart LR", "  %% drawn from the template", '  subgraph outside["Outside the stack"]']
    lines += ['    Storefront(["Storefront systems"])', "  end"]
    nodes = {}
    for logical_id, resource in resources.items():
        base = _base(logical_id)
        if resource["Type"] not in DRAWN or resource["Type"] in GROUPS.values() or base is None:
            continue
        properties = resource.get("Properties", {})
        name = properties.get(NAME_PROPERTY.get(resource["Type"], ""))
        words = [resource["Type"], name if isinstance(name, str) else ""]
        words += [index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])]
        nodes[logical_id] = base
        lines.append(f'  {base}["{" ".join(w for w in words if w)}"]')
    for group, kind in GROUPS.items():
        count = sum(1 for r in resources.values() if r["Type"] == kind)
        lines.append(f'  {group}["{count} of {kind}"]')
    bus = next(base for lid, base in nodes.items() if resources[lid]["Type"] == "AWS::Events::EventBus")
    lines.append(f"  Storefront -->|PutEvents| {bus}")
    for source, target, _ in sorted(set(template_links(resources))):
        if source in nodes and target in nodes and source != target:
            lines.append(f"  {nodes[source]} --> {nodes[target]}")
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"


def test_a_diagram_drawn_from_the_template_passes(synth: Synthesized) -> None:
    markdown = drawn_from(synth.document)
    assert "ArbitrationArbiterFunction" in markdown
    assert diagram_problems(parse(markdown), synth.document) == []


def _without_line(needle: str) -> Callable[[str], str]:
    def edit(markdown: str) -> str:
        lines = markdown.splitlines(keepends=True)
        kept = [line for line in lines if line.strip() != needle]
        assert len(kept) == len(lines) - 1, needle
        return "".join(kept)

    return edit


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(markdown: str) -> str:
        assert old in markdown, old
        return markdown.replace(old, new, 1)

    return edit


def _substitute(pattern: str, new: str) -> Callable[[str], str]:
    def edit(markdown: str) -> str:
        changed, count = re.subn(pattern, new, markdown, count=1)
        assert count == 1, pattern
        return changed

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(
            _without_line('ArbitrationArbiterFunction["AWS::Lambda::Function"]'),
            "(AWS::Lambda::Function) is not in the diagram",
            id="a function left out",
        ),
        pytest.param(
            _without_line("IngestArbitrationQueue --> ArbitrationArbiterFunction"),
            "no arrow IngestArbitrationQueue --> ArbitrationArbiterFunction",
            id="a queue's consumer not linked",
        ),
        pytest.param(
            _without_line("IngestArbitrationQueue --> IngestArbitrationDeadLetterQueue"),
            "no arrow IngestArbitrationQueue --> IngestArbitrationDeadLetterQueue",
            id="a redrive not drawn",
        ),
        pytest.param(
            _without_line("DeferralSweeperFunction --> LedgerTable"),
            "no link between DeferralSweeperFunction and LedgerTable",
            id="an IAM grant not drawn",
        ),
        pytest.param(
            _replace("baton-arbitration-dlq", "baton-arbitration-dead"),
            "the template names it 'baton-arbitration-dlq'",
            id="a queue named wrongly",
        ),
        pytest.param(
            _replace('  LedgerTable["AWS::DynamoDB::Table baton-ledger due"]', '  LedgerTable["baton-ledger"]'),
            "does not name the index 'due'",
            id="the index not named",
        ),
        pytest.param(
            _replace("  end\n", '  end\n  Teleporter["does not exist"]\n  Storefront --> Teleporter\n'),
            "Teleporter: no resource Teleporter<hash> in the template",
            id="an invented resource",
        ),
        pytest.param(
            _replace('    Storefront(["Storefront systems"])', '    Storefront(["x"])\n    LedgerTable[("x")]'),
            "LedgerTable is drawn outside the stack",
            id="a stack resource drawn outside it",
        ),
        pytest.param(
            _replace("Storefront -->|PutEvents|", "Storefront -->|PutEvents| Nowhere\n  Storefront -->"),
            "Nowhere is not a declared node",
            id="a link to an undeclared node",
        ),
        pytest.param(
            _substitute(r"\d+ of AWS::CloudWatch::Alarm", "1000 of AWS::CloudWatch::Alarm"),
            "AWS::CloudWatch::Alarm, but its label says '1000 of",
            id="the wrong number of alarms",
        ),
        pytest.param(
            _replace("flowchart LR\n", "flowchart LR\n  IngestBus --> IngestMessageRequested & Extra\n"),
            "line not understood",
            id="a line the check cannot read",
        ),
        pytest.param(_replace("```mermaid", "```text"), "expected one ```mermaid block, found 0", id="no block"),
    ],
)
def test_the_check_catches_drift(synth: Synthesized, edit: Callable[[str], str], expected: str) -> None:
    problems = diagram_problems(parse(edit(drawn_from(synth.document))), synth.document)
    assert any(expected in problem for problem in problems), json.dumps(problems, indent=1)
