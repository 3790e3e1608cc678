"""`benchmarks.decompose_ceiling`: the error-analysis measurements on small made-up records."""

from __future__ import annotations

from benchmarks.decompose_ceiling import extra_link_precision, missed_links, nearest_transfer
from tasks.evaluate import GoldRecord
from tasks.registry import default_registry


def rec(nodes: list[str], links: list[tuple[str, str]], text: str = "x") -> GoldRecord:
    return GoldRecord(id=text, instruction=text, nodes=tuple(nodes), links=tuple(links))


def test_missed_links_separate_unpredicted_endpoints_from_linking_errors():  # type: ignore[no-untyped-def]
    records = [
        rec(["A", "B", "C"], [("A", "B"), ("B", "C")]),
        rec(["A", "B"], [("A", "B")]),
    ]
    preds = [
        (["A", "C"], {("A", "C")}),  # B never predicted: both gold links have it
        (["A", "B"], {("B", "A")}),  # both predicted, linked the wrong way
    ]
    assert missed_links(records, preds) == {
        "missed": 3,
        "missed_with_unpredicted_endpoint": 2,
        "wrong": 2,
        "wrong_with_endpoint_not_in_gold": 0,
    }


def test_extra_link_precision_groups_unlinked_pairs():  # type: ignore[no-untyped-def]
    reg = default_registry()
    a, b, c = "Automatic Speech Recognition", "Summarization", "Text-to-Speech"
    records = [rec([a, b, c], [(a, b), (a, c)])]
    preds = [([a, b, c], {(a, b)})]
    groups = extra_link_precision(records, preds, reg)
    # a -> c is forward at distance 2 and ASR's text can feed TTS: one gold of one pair
    assert groups["forward, feeds, distance 2"] == (1, 1)
    assert groups["forward, feeds, distance 1"] == (0, 1)  # b -> c
    assert sum(n for _, n in groups.values()) == 5  # 6 ordered pairs less the linked one
    assert sum(g for g, _ in groups.values()) == 1


def test_nearest_transfer_copies_the_most_similar_graph_both_ways():  # type: ignore[no-untyped-def]
    records = [
        rec(["A", "B"], [("A", "B")]),
        rec(["C", "D"], [("C", "D")]),
        rec(["A", "B"], [("A", "B")]),
        rec(["C", "E"], [("C", "E")]),
    ]
    # 0 <-> 2 and 1 <-> 3 are the most similar across the split at 2
    sim = [
        [1, 0, 0.9, 0.1],
        [0, 1, 0.1, 0.8],
        [0.9, 0.1, 1, 0],
        [0.1, 0.8, 0, 1],
    ]
    t = nearest_transfer(records, sim, split=2)
    assert t["link_precision"] == 0.5 and t["link_recall"] == 0.5
    assert t["node_precision"] == 0.75
