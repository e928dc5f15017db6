"""A small hand-written knowledge base for the retrieval tests."""

from __future__ import annotations

from hotline.knowledge.retrieval.documents import KnowledgeDocument

SMALL_KB = (
    KnowledgeDocument(1, ("住房公积金贷款利率是多少？", "公积金贷款的利息怎么算")),
    KnowledgeDocument(2, ("如何补办居民身份证？", "身份证丢了怎么补办")),
    KnowledgeDocument(3, ("机动车驾驶证丢失怎么补领？",)),
    KnowledgeDocument(4, ("小区生活垃圾无人清运向哪里投诉？",)),
    KnowledgeDocument(5, ("夜间施工噪音扰民怎么举报？", "晚上工地太吵睡不着怎么办")),
    KnowledgeDocument(6, ("如何申请城乡居民最低生活保障？",), keywords=("低保",)),
    KnowledgeDocument(7, ("新生儿怎么参加城乡居民医疗保险？",)),
    KnowledgeDocument(8, ("失业保险金怎么领取？",)),
    KnowledgeDocument(9, ("冬季供暖温度不达标找谁？", "暖气不热怎么办")),
    KnowledgeDocument(10, ("小区突然停水什么时候恢复供水？",)),
    KnowledgeDocument(11, ("外地人如何办理北京市居住证？",)),
    KnowledgeDocument(12, ("个体工商户营业执照怎么办理？",)),
    KnowledgeDocument(13, ("网络预约出租汽车运输证的办理条件是什么？",)),
    KnowledgeDocument(14, ("道路路灯损坏向哪里报修？",)),
    KnowledgeDocument(15, ("养犬登记证怎么办理和年检？",)),
)
