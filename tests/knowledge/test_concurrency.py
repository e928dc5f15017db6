"""Searches from a thread pool while updates are applied."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.index import HybridIndex


def test_searches_during_upserts_and_removes(fresh_index: HybridIndex) -> None:
    stop = threading.Event()

    def search_loop() -> int:
        done = 0
        while not stop.is_set():
            hits = fresh_index.search("身份证丢了怎么补办", k=3)
            assert hits[0].entry_id == 2
            assert len({h.entry_id for h in hits}) == len(hits)
            done += 1
        return done

    live: set[int] = set()
    with ThreadPoolExecutor(max_workers=4) as pool:
        searches = [pool.submit(search_loop) for _ in range(4)]
        for i in range(60):
            entry_id = 1000 + i % 7
            fresh_index.upsert(KnowledgeDocument(entry_id, (f"第{i}号临时问题的答案在哪里",)))
            live.add(entry_id)
            if i % 3 == 0:
                fresh_index.remove(entry_id)
                live.discard(entry_id)
        stop.set()
        counts = [future.result(timeout=30) for future in searches]
    assert all(count > 0 for count in counts)
    assert {e for e in range(1000, 1007) if e in fresh_index} == live
    assert len(fresh_index) == 15 + len(live)
    assert fresh_index.search("第59号临时问题", k=1)[0].entry_id == 1000 + 59 % 7
