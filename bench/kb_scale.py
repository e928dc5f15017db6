"""Knowledge-base retrieval at 100,000 entries: search latency, publish latency, memory.

Usage (from the repository root):

    .venv/bin/python bench/kb_scale.py [--entries 100000] [--queries 500] [--save-dir DIR]

Entries are synthetic but varied: a subject (公积金贷款, 居住证, ...), an action, a qualifier
and a question form, plus a district and a serial number, so that most words are shared
across many entries as in a real knowledge base; 30 % of entries carry a similar question,
and every entry a short answer.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.index import HybridIndex

SUBJECTS = [
    "住房公积金贷款",
    "住房公积金提取",
    "医保报销",
    "异地就医备案",
    "社保卡",
    "养老保险",
    "失业保险金",
    "工伤认定",
    "生育津贴",
    "居住证",
    "身份证",
    "户口迁移",
    "出生登记",
    "驾驶证",
    "机动车号牌",
    "进京证",
    "违章处理",
    "网约车运输证",
    "营业执照",
    "食品经营许可证",
    "个体工商户",
    "税务登记",
    "发票",
    "不动产登记",
    "房屋过户",
    "物业维修资金",
    "供暖",
    "燃气",
    "自来水",
    "电费",
    "垃圾清运",
    "噪音扰民",
    "占道经营",
    "路灯",
    "井盖",
    "共享单车",
    "公交卡",
    "地铁票",
    "低保",
    "残疾人补贴",
    "高龄津贴",
    "养老服务",
    "婚姻登记",
    "独生子女证",
    "义务教育入学",
    "学籍",
    "职业资格证",
    "人才引进",
    "积分落户",
    "档案转移",
    "劳动仲裁",
    "欠薪",
    "工资",
    "离职证明",
    "养犬登记",
    "健康码",
    "核酸检测",
]
ACTIONS = [
    "办理",
    "补办",
    "换领",
    "查询",
    "变更",
    "注销",
    "缴纳",
    "申请",
    "报销",
    "转移",
    "续期",
    "预约",
    "投诉",
    "举报",
    "挂失",
    "打印",
    "认定",
    "审核",
    "退费",
    "领取",
]
QUALIFIERS = [
    "网上",
    "线下",
    "异地",
    "外地户籍人员",
    "老年人",
    "未成年人",
    "企业",
    "个人",
    "委托他人",
    "首次",
    "逾期",
    "紧急",
    "在手机上",
    "在窗口",
    "疫情期间",
    "节假日",
    "退休后",
    "离职后",
    "毕业生",
    "外籍人士",
]
FORMS = (
    "如何{q}{a}{s}？",
    "{q}{a}{s}需要哪些材料？",
    "{q}{a}{s}在哪里办理？",
    "{q}{a}{s}要多长时间？",
    "{q}{a}{s}的收费标准是什么？",
    "{q}可以{a}{s}吗？",
    "{q}{a}{s}有什么条件？",
    "{s}{a}的流程是什么（{q}）？",
)
DISTRICTS = "东城 西城 朝阳 海淀 丰台 石景山 门头沟 房山 通州 顺义 昌平 大兴 怀柔 平谷 密云 延庆"
SIMILAR = ("我想{a}{s} 怎么弄", "{s}{a}找谁", "{q}的{s}怎么{a}")


def synthetic_docs(n: int, rng: random.Random) -> list[KnowledgeDocument]:
    """``n`` distinct entries; about 30 % with one similar question."""
    districts = DISTRICTS.split()
    docs: list[KnowledgeDocument] = []
    seen: set[str] = set()
    while len(docs) < n:
        s, a, q = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(QUALIFIERS)
        question = rng.choice(FORMS).format(s=s, a=a, q=q)
        question = f"{rng.choice(districts)}区{question[:-1]}（第{rng.randrange(1, 60)}项）？"
        if question in seen:
            continue
        seen.add(question)
        questions: tuple[str, ...] = (question,)
        if rng.random() < 0.3:
            questions += (rng.choice(SIMILAR).format(s=s, a=a, q=q) + rng.choice(districts),)
        district = rng.choice(districts)
        answer = (
            f"{q}{a}{s}，请携带身份证原件和相关证明材料，到{district}区政务服务中心{s}窗口办理，"
            f"{rng.randrange(1, 30)}个工作日内办结；也可以在网上办事大厅提交申请。"
        )
        docs.append(KnowledgeDocument(len(docs) + 1, questions, answer=answer))
    return docs


def rss_mb() -> float:
    """Resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(ms: list[float]) -> str:
    return (
        f"p50={np.percentile(ms, 50):.1f}ms p99={np.percentile(ms, 99):.1f}ms max={max(ms):.1f}ms"
    )


def measure_search(index: HybridIndex, docs: list[KnowledgeDocument], n: int) -> None:
    rng = random.Random(5)
    # Colloquial-looking queries: the subject and action of an entry, in spoken form.
    queries = [f"请问{d.questions[0][3:13]}怎么办啊" for d in rng.sample(docs, n)]
    for q in queries[:20]:
        index.search(q, k=5)
    total, encode = [], []
    for q in queries:
        start = time.perf_counter()
        index.encoder.encode([q])
        encode.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        index.search(q, k=5)
        total.append((time.perf_counter() - start) * 1000)
    print(f"search (k=5, single thread, {n} queries): {percentiles(total)}")
    print(f"  of which encoding one query: {percentiles(encode)}")
    dense_recall(index, queries[:100])


def dense_recall(index: HybridIndex, queries: list[str]) -> None:
    """How often the approximate dense stage returns the exact nearest question."""
    dense = index.state.dense
    slots = np.array(sorted(s for v in index.state.entry_slots.values() for s in v), np.int64)
    matrix = dense.vectors(slots)
    vectors = index.encoder.encode(queries)
    found = 0
    for vector in vectors:
        exact = slots[int(np.argmax(matrix @ vector))]
        found += int(exact in dense.search(vector, index.state.settings.candidates)[0])
    print(f"dense stage recall of the exact nearest question: {found}/{len(queries)}")


def measure_publish(index: HybridIndex, rounds: int) -> None:
    upserts, removes = [], []
    for i in range(rounds):
        entry_id = 10_000_000 + i
        question = f"新发布的第{i}号政策：电动自行车牌照{i}号怎么申领？"
        start = time.perf_counter()
        index.upsert(KnowledgeDocument(entry_id, (question, f"电动车上牌{i}号")))
        top = index.search(question, k=1)[0]
        upserts.append((time.perf_counter() - start) * 1000)
        assert top.entry_id == entry_id, "a published entry must be searchable at once"
        start = time.perf_counter()
        index.remove(entry_id)
        removes.append((time.perf_counter() - start) * 1000)
    print(f"upsert -> searchable ({rounds} rounds): {percentiles(upserts)}")
    print(f"remove ({rounds} rounds): {percentiles(removes)}")


def measure_concurrent(index: HybridIndex, docs: list[KnowledgeDocument], n: int) -> None:
    """Search latency while another thread publishes an entry every 50 ms."""
    stop = threading.Event()

    def publish() -> None:
        i = 0
        while not stop.wait(0.05):
            index.upsert(KnowledgeDocument(20_000_000 + i % 50, (f"临时发布的第{i}条问题？",)))
            i += 1

    writer = threading.Thread(target=publish)
    writer.start()
    queries = [f"{d.questions[0][3:13]}怎么弄" for d in random.Random(9).sample(docs, n)]
    timings = []
    for q in queries:
        start = time.perf_counter()
        index.search(q, k=5)
        timings.append((time.perf_counter() - start) * 1000)
    stop.set()
    writer.join()
    print(f"search while publishing every 50 ms ({n} queries): {percentiles(timings)}")


def measure_persistence(index: HybridIndex, directory: Path) -> None:
    start = time.perf_counter()
    index.save(directory)
    saved = time.perf_counter() - start
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2**20
    start = time.perf_counter()
    loaded = HybridIndex.load(directory, encoder=index.encoder)
    print(
        f"save {saved:.1f} s, load {time.perf_counter() - start:.1f} s, "
        f"{size:.0f} MiB on disk, {len(loaded)} entries loaded"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--publish-rounds", type=int, default=30)
    parser.add_argument("--save-dir", type=Path, default=None, help="keep the snapshot here")
    parser.add_argument("--load-dir", type=Path, default=None, help="reuse a kept snapshot")
    args = parser.parse_args()
    docs = synthetic_docs(args.entries, random.Random(11))
    encoder = UseMultilingualOnnxEncoder()
    base = rss_mb()
    start = time.perf_counter()
    if args.load_dir is not None:
        index = HybridIndex.load(args.load_dir, encoder=encoder)
        verb = "loaded"
    else:
        index = HybridIndex.build(docs, encoder=encoder)
        verb = "built"
    questions = sum(len(d.questions) for d in docs)
    print(
        f"{verb} {len(index)} entries / {questions} questions in "
        f"{time.perf_counter() - start:.0f} s; RSS {base:.0f} -> {rss_mb():.0f} MiB"
    )
    measure_search(index, docs, args.queries)
    measure_publish(index, args.publish_rounds)
    measure_concurrent(index, docs, args.queries)
    if args.load_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            measure_persistence(index, args.save_dir or Path(tmp))
    print(f"final RSS {rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
