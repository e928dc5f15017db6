"""The city tokenizer: own jieba instance, city words, gazetteer names, extra words."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest

from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer
from hotline.nlu.tokenizer import CityTokenizer, _base_frequencies, import_jieba


@pytest.fixture(scope="module")
def tokenizer(gazetteer: Gazetteer) -> CityTokenizer:
    built = CityTokenizer(gazetteer=gazetteer, extra_words=["临江通"])
    built.warm_up()
    return built


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("楼下油烟扰民一直没人管", "油烟扰民"),
        ("门口占道经营", "占道经营"),
        ("小区路灯不亮", "路灯不亮"),
        ("办理不动产登记", "不动产登记"),
        ("江北区望江街道临波社区", "临波社区"),
        ("临江市第一人民医院门口", "临江市第一人民医院"),
        ("我家在幸福路", "幸福路"),
        ("请问临江通怎么用", "临江通"),
        ("住建局和人社局", "人社局"),
    ],
)
def test_city_words_stay_whole(tokenizer: CityTokenizer, text: str, word: str) -> None:
    assert word in tokenizer.tokenize(text)


def test_whitespace_is_dropped_and_offsets_point_into_text(tokenizer: CityTokenizer) -> None:
    text = "喂 那个 着火了"
    spans = tokenizer.spans(text)
    assert all(word.strip() for word, _, _ in spans)
    assert all(text[start:end] == word for word, start, end in spans)


def test_does_not_touch_the_global_jieba(tokenizer: CityTokenizer) -> None:
    jieba = import_jieba()
    assert tokenizer._jieba is not jieba.dt
    # Neither the global tokenizer nor the shared base frequencies learned our words.
    assert "临江通" not in jieba.dt.FREQ
    assert "临江通" not in _base_frequencies()[0]
    assert tokenizer._jieba is not None
    assert "临江通" in tokenizer._jieba.FREQ


def test_initialises_once_under_concurrency(gazetteer: Gazetteer) -> None:
    fresh = CityTokenizer(gazetteer=gazetteer)
    built = []
    original = fresh._build

    def counting_build() -> object:
        built.append(1)
        return original()

    fresh._build = counting_build  # type: ignore[method-assign]
    threads = [threading.Thread(target=fresh.tokenize, args=("你好",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [1]


def test_import_emits_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert import_jieba().Tokenizer is not None


def test_bad_dictionary_line_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_text("词 3 n 多余\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dict\.txt:1"):
        CityTokenizer(dictionary_path=path).warm_up()
