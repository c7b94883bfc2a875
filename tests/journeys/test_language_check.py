"""The journeys' Latin-word check itself: word boundaries are ASCII, so a Latin word glued to
Chinese is found; codes, numbers with units and allowed names are not."""
from tests.journeys.conftest import latin_words


def test_a_latin_word_glued_to_chinese_is_found():
    assert latin_words("演示cashier 已登录") == ["cashier"]
    assert latin_words("护士Nurse甲") == ["Nurse"]


def test_codes_units_and_allowed_names_pass():
    text = "诊断 I25.103 · 阿司匹林 100mg · 0.5g · 导出 Excel、PDF · 文件（PNG 或 JPEG）· 快捷键 Alt+X · LC001 · T+3"
    assert latin_words(text) == []
