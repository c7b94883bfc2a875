"""Normalising cells: phones, resident ID numbers, dates, codes, headers and encodings (pure)."""
import io
from datetime import date, datetime, timezone

import pytest

from followup.imports import values as v
from followup.imports.errors import FileError
from followup.imports.headers import ColumnMap
from followup.imports.tables import detect_encoding, open_table


@pytest.mark.parametrize("raw, e164", [
    ("13800138000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),       # full-width digits
    ("138-0013-8000", "+8613800138000"),
    ("010-12345678", "+861012345678"),               # Beijing landline with area code
    ("(0635)8278001", "+866358278001"),
])
def test_phone_numbers_are_normalised_to_e164(raw, e164):
    assert v.normalise_phone(raw) == e164


@pytest.mark.parametrize("raw, reason", [
    ("13800138000x", "characters"),                 # phonenumbers would ignore the x
    ("+8613800138000 ext 12", "only a landline"),     # a mobile has no extension
    ("138001380ab", "characters"),
    ("📞13800138000", "characters"),
    ("12345678901", "not a valid"),                  # possible but not valid
    ("1380013800", "not a valid"),                   # 10 digits
    ("12345678", "not a valid"),                     # landline without area code
    ("400-820-8820", "400/800"),
    ("800-820-8820", "400/800"),
    ("", "characters"),
])
def test_bad_phone_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        v.normalise_phone(raw)


def test_several_numbers_in_one_cell_keep_the_valid_ones_in_order_without_repeats():
    good, bad = v.normalise_phones("13800138000；010-12345678, 13800138000/4008208820")
    assert good == ["+8613800138000", "+861012345678"]
    assert len(bad) == 1 and "400/800" in bad[0]


@pytest.mark.parametrize("raw, clean", [
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),    # lowercase x
    ("110105491231002", "11010519491231002X"),       # 15-digit legacy card upgraded (documented)
    ("990105194912310023", "990105194912310023"),    # unknown region code is not an error
])
def test_resident_id_numbers_are_checked_and_normalised(raw, clean):
    assert v.normalise_resident_id(raw) == clean


@pytest.mark.parametrize("raw, reason", [
    ("110105194912310021", "check digit"),
    ("11010519990230002X", "check digit|birth date"),  # 1999-02-30
    ("1101051949123100", "18 characters"),
    ("11010520991231002X", "check digit|future"),
])
def test_bad_resident_id_numbers_are_refused(raw, reason):
    with pytest.raises(ValueError, match=reason):
        v.normalise_resident_id(raw)


def test_id_facts_give_birth_date_and_sex():
    assert v.resident_id_facts("11010519491231002X") == (date(1949, 12, 31), "2")


@pytest.mark.parametrize("raw, expected", [
    ("2024-02-29", date(2024, 2, 29)),
    ("2024/1/5", date(2024, 1, 5)),
    ("2024.1.5", date(2024, 1, 5)),
    ("2024年1月5日", date(2024, 1, 5)),
    ("20240105", date(2024, 1, 5)),
    ("2024-01-05 10:30", date(2024, 1, 5)),
])
def test_his_date_formats_are_read(raw, expected):
    assert v.parse_datetime(raw, date_only=True) == expected


@pytest.mark.parametrize("raw, reason", [
    ("2024-02-30", "no such"), ("2023-02-29", "no such"), ("01/02/2024", "ambiguous"),
    ("45123", "Excel serial"), ("yesterday", "not a date"), ("2024-01-05 25:00", "no such time"),
])
def test_bad_or_ambiguous_dates_are_refused(raw, reason):
    with pytest.raises(ValueError, match=reason):
        v.parse_datetime(raw)


def test_times_without_zone_are_shanghai_and_with_zone_are_respected():
    naive = v.parse_datetime("2024-01-05 23:30")
    assert naive.astimezone(timezone.utc) == datetime(2024, 1, 5, 15, 30, tzinfo=timezone.utc)
    assert v.parse_datetime("2024-01-05T15:30:00Z") == datetime(2024, 1, 5, 15, 30, tzinfo=timezone.utc)
    assert v.parse_datetime("20240105233000") == naive


def test_codes_accept_labels_and_numbers():
    assert v.normalise_code("死亡", v.DISPOSITION_ALIASES, "d") == "5"
    assert v.normalise_code("女", v.SEX_ALIASES, "s") == "2"
    with pytest.raises(ValueError):
        v.normalise_code("7", v.DISPOSITION_ALIASES, "d")


def test_utf8_is_tried_before_gb18030_so_utf8_is_never_read_as_mojibake():
    assert detect_encoding(io.BytesIO("张三,䶮,𠮷".encode("utf-8"))) == "utf-8-sig"
    assert detect_encoding(io.BytesIO("张三,䶮,𠮷".encode("gb18030"))) == "gb18030"
    assert detect_encoding(io.BytesIO("姓名".encode("utf-16"))) == "utf-16"


def test_big5_or_binary_junk_is_a_file_error_naming_the_line():
    with pytest.raises(FileError, match="line"):
        detect_encoding(io.BytesIO(b"a,b\n" + bytes([0x81, 0x20, 0xff, 0xfe, 0x80]) * 3))


def test_headers_are_matched_in_chinese_english_full_width_and_by_hospital_mapping():
    cm = ColumnMap(["住院号", "姓　名", "Phone", "出院日期", "科室名称", "离院方式", "Extra"],
                   custom={"科室名称": "ward"})
    assert cm.columns == {"inpatient_no": [0], "name": [1], "phone": [2], "discharge_at": [3],
                          "ward": [4], "disposition": [5]}


def test_missing_or_duplicate_headers_are_file_errors():
    with pytest.raises(FileError, match="missing required columns"):
        ColumnMap(["住院号", "姓名"])
    with pytest.raises(FileError, match="twice"):
        ColumnMap(["住院号", "住院号", "姓名", "联系电话", "出院日期", "出院科室", "离院方式"])


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "，"])
def test_csv_delimiters_are_recognised_from_the_header(delimiter):
    from tests.import_files import csv_bytes, row
    table = open_table(io.BytesIO(csv_bytes([row()], delimiter=delimiter)))
    rows = list(table.rows())
    assert table.headers[0] == "住院号" and rows[0][1][1] == "张三" and rows[0][2] is None


def test_an_empty_file_is_a_file_error():
    with pytest.raises(FileError):
        open_table(io.BytesIO(b""))
