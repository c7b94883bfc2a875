"""Benchmark of "find the patient" (followup/patients/search.py) at 1M patients on PostgreSQL.

    .venv/bin/python bench/search.py                              # 1M patients, 2,000 searches
    .venv/bin/python bench/search.py --patients 100000 --queries 500

Builds a scratch database once (kept between runs; --rebuild drops it), set-based: patients,
their stays and the blind index of every number are INSERT … SELECT over generate_series, the
names drawn from common surnames and given-name characters with their pinyin, one in three
patients with a second number (a landline), and the numbers' keyed blind indexes computed in
the database (pgcrypto HMAC-SHA256 with the bench's index key: the same digest as Keys.blind_index).
Two hospitals: 70% / 30% of the patients, five wards each.

Then times search.search() as the web app calls it (scope filter, match, the stays loaded),
for a follow-up-centre user (the whole hospital) and a nurse (one ward), over a mix of what a
nurse types: full names, surnames, pinyin initials and full pinyin, phone numbers in several
formats (primary and second numbers), 住院号, last 4 digits with a name. Prints p50/p95/p99 per
kind and overall, and a bare `SELECT 1` round trip as the floor. Target: p99 < 100 ms.
Percentiles are nearest-rank (bench/percentile.py)."""
import os
import sys

# Run as a script, this file's folder comes first on sys.path and bench/queue.py would shadow the
# standard library's `queue` (which psycopg imports): take the folder off.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import base64  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

from bench.percentile import percentile as pct  # noqa: E402

INDEX_KEY = b"h" * 32
KEYS = {"FIELD_KEY": base64.b64encode(b"f" * 32).decode(), "INDEX_KEY": base64.b64encode(INDEX_KEY).decode()}
SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
            ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
            ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie"),
            ("韩", "han"), ("唐", "tang"), ("冯", "feng"), ("于", "yu"), ("董", "dong"), ("萧", "xiao"),
            ("曾", "zeng"), ("单", "shan")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀", "xiu"), ("英", "ying"), ("敏", "min"),
         ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
         ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
         ("超", "chao"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("兰", "lan"),
         ("林", "lin"), ("华", "hua"), ("建", "jian"), ("国", "guo"), ("玉", "yu"), ("红", "hong"),
         ("文", "wen"), ("辉", "hui"), ("鹏", "peng"), ("宇", "yu"), ("浩", "hao"), ("婷", "ting"),
         ("晨", "chen"), ("欣", "xin"), ("佳", "jia"), ("凯", "kai")]
WARDS = 5


PREFIXES = [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
            180, 181, 182, 183, 184, 185, 186, 187, 188, 189]


def mobile(i: int) -> str:
    """Patient i's primary number (distinct per patient), E.164."""
    return f"+86{PREFIXES[i % len(PREFIXES)]}{(i * 7919) % 100_000_000:08d}"


def landline(i: int) -> str:
    """The second number of every third patient: a Liaocheng (0635) landline."""
    return f"+86635{(i * 104729) % 8_000_000 + 2_000_000:07d}"


def build(url: str, patients: int) -> None:
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    u = make_url(url)
    admin = u.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')
    from flask_migrate import upgrade
    from followup.core.crypto import EncryptedText
    from followup.extensions import db
    from followup.models import Hospital, Region, Role, Ward
    from followup.security.users import create_user
    app = make_app(url)
    with app.app_context():
        upgrade(revision="heads")
        city = Region(code="371500", name="聊城市", level="city")
        hs = [Hospital(code=f"H{k}", name=f"医院{k}", region=city) for k in (1, 2)]
        db.session.add_all([city, *hs])
        db.session.flush()
        for h in hs:
            db.session.add_all([Ward(hospital=h, code=f"W{i}", name=f"病区{i}") for i in range(WARDS)])
        db.session.flush()
        create_user("centre", "bench-password-1", Role.CENTRE_STAFF, hospital_code="H1")
        create_user("nurse", "bench-password-1", Role.NURSE, hospital_code="H1", ward_codes=["W0"])
        db.session.commit()
        cipher = EncryptedText().process_bind_param("+8613800000000", db.engine.dialect)  # never read
        s = db.session
        s.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
        s.execute(text("CREATE TEMP TABLE sur (k int, ch text, py text)"))
        s.execute(text("CREATE TEMP TABLE giv (k int, ch text, py text)"))
        s.execute(text("INSERT INTO sur VALUES " + ",".join(f"({k},'{c}','{p}')" for k, (c, p) in enumerate(SURNAMES))))
        s.execute(text("INSERT INTO giv VALUES " + ",".join(f"({k},'{c}','{p}')" for k, (c, p) in enumerate(GIVEN))))
        params = {"n": patients, "h1": hs[0].id, "h2": hs[1].id, "cipher": cipher, "key": INDEX_KEY,
                  "ns": len(SURNAMES), "ng": len(GIVEN), "prefixes": PREFIXES, "np": len(PREFIXES)}
        t = time.perf_counter()
        # Patient i: surname by a skewed pick (common names are common), one or two given characters.
        s.execute(text("""
            INSERT INTO patient (id, hospital_id, name, name_initials, name_pinyin, sex, id_type, phone, phone_hash,
                                 phone_masked, other_phones, created_at, updated_at)
            SELECT i, CASE WHEN i % 10 < 7 THEN :h1 ELSE :h2 END,
                   s.ch || g1.ch || coalesce(g2.ch, ''),
                   left(s.py, 1) || left(g1.py, 1) || coalesce(left(g2.py, 1), ''),
                   s.py || g1.py || coalesce(g2.py, ''),
                   '1', 'resident', :cipher, encode(hmac(convert_to(p.m, 'UTF8'), :key, 'sha256'), 'hex'),
                   substr(p.m, 4, 3) || '****' || right(p.m, 4), CASE WHEN i % 3 = 0 THEN :cipher END, now(), now()
            FROM generate_series(1, :n) AS i
            CROSS JOIN LATERAL (SELECT '+86' || (:prefixes)[1 + i % :np]::text
                                       || lpad(((i::bigint * 7919) % 100000000)::text, 8, '0') AS m) p
            JOIN sur s ON s.k = floor(:ns * power(((i::bigint * 2654435761) % 1000003) / 1000003.0, 2))::int
            JOIN giv g1 ON g1.k = (i * 31) % :ng
            LEFT JOIN giv g2 ON g2.k = (i * 17) % :ng AND i % 4 <> 0"""), params)
        s.execute(text("""
            INSERT INTO patient_phone (patient_id, hospital_id, phone_hash, last4, position)
            SELECT id, hospital_id, phone_hash, right(phone_masked, 4), 0 FROM patient"""))
        s.execute(text("""
            INSERT INTO patient_phone (patient_id, hospital_id, phone_hash, last4, position)
            SELECT p.id, p.hospital_id, encode(hmac(convert_to(l.n, 'UTF8'), :key, 'sha256'), 'hex'), right(l.n, 4), 1
            FROM patient p CROSS JOIN LATERAL (SELECT '+86635' || (((p.id::bigint * 104729) % 8000000) + 2000000)::text AS n) l
            WHERE p.id % 3 = 0"""), params)
        s.execute(text("""
            INSERT INTO discharge (id, hospital_id, ward_id, patient_id, inpatient_no, discharge_at, discharge_date,
                                   disposition, diagnosis_code, diagnosis_name, attending_doctor, medicines,
                                   rehab_instructions, created_at, updated_at)
            SELECT p.id, p.hospital_id, w.id, p.id, 'ZY' || lpad(p.id::text, 8, '0'),
                   now() - (p.id % 365) * interval '1 day', current_date - (p.id % 365), '1', 'I10', '高血压病',
                   '王医生', '', '', now(), now()
            FROM patient p JOIN ward w ON w.hospital_id = p.hospital_id
                                   AND w.code = 'W' || ((p.id::bigint * 40503) % 65537 % 5)"""))  # the ward is not tied to the name
        for table in ("patient", "discharge"):
            s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
        print(f"built {patients:,} patients in {time.perf_counter() - t:.0f} s")


def make_app(url: str):
    from followup import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", **KEYS})


def queries(session, patients: int, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) pairs built from patients of hospital 1 (those the centre user may see)."""
    from sqlalchemy import text
    ids = [i for i in rng.sample(range(1, patients + 1), min(patients, n * 3)) if i % 10 < 7][:n]
    rows = {r.id: r for r in session.execute(text(
        "SELECT id, name, name_initials, name_pinyin FROM patient WHERE id = ANY(:ids)"), {"ids": ids})}
    fullwidth = str.maketrans("0123456789+", "０１２３４５６７８９＋")
    out = []
    for k, i in enumerate(ids):
        r, m = rows[i], mobile(i)
        kind = k % 12
        out.append([
            ("full name", r.name), ("surname", r.name[0]), ("initials", r.name_initials),
            ("full pinyin", r.name_pinyin), ("pinyin prefix", r.name_pinyin[:5]),
            ("mobile", m[3:]), ("mobile +86 spaced", f"+86 {m[3:6]} {m[6:10]} {m[10:]}"),
            ("mobile full-width", m[3:].translate(fullwidth)),
            ("landline (2nd number)", f"(0635){landline(i)[6:]}") if i % 3 == 0 else ("mobile", "0086" + m[3:]),
            ("住院号", f"ZY{i:08d}"), ("last 4 + name", f"{m[-4:]} {r.name}"), ("last 4 + initials", f"{r.name_initials} {m[-4:]}"),
        ][kind])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/followup_bench_search")
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    from sqlalchemy import select, text
    from followup.core.crypto import keys
    from followup.extensions import db
    from followup.models import Patient, User
    from followup.patients import search
    app = make_app(args.database_url)
    with app.app_context():
        try:
            have = db.session.scalar(select(db.func.count()).select_from(Patient))
        except Exception:
            have = -1
        db.session.rollback()
        db.engine.dispose()
    if args.rebuild or have != args.patients:
        build(args.database_url, args.patients)
    else:  # a kept database: bring its schema up to the code's
        from flask_migrate import upgrade
        with app.app_context():
            upgrade(revision="heads")
    rng = random.Random(13)
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        for u in users.values():
            u.ward_ids
        qs = queries(db.session, args.patients, args.queries, rng)
        k = keys()
        floor = []
        for _ in range(200):
            t = time.perf_counter()
            db.session.execute(text("SELECT 1"))
            floor.append((time.perf_counter() - t) * 1000)
        print(f"{args.patients:,} patients; floor (SELECT 1 round trip): p50 {pct(floor, 50):.2f} ms")
        for who in ("centre", "nurse"):
            user = users[who]
            for kind, q in qs[:24]:  # warm the caches and the plans
                search.search(user, q, k)
                db.session.rollback()
            times, found, bare = defaultdict(list), defaultdict(int), []
            for kind, q in qs:
                t = time.perf_counter()
                res = search.search(user, q, k)
                times[kind].append((time.perf_counter() - t) * 1000)
                found[kind] += bool(res)
                db.session.rollback()
                t = time.perf_counter()  # the floor, interleaved: the same machine load as the search
                db.session.execute(text("SELECT 1"))
                bare.append((time.perf_counter() - t) * 1000)
                db.session.rollback()
            every = [x for xs in times.values() for x in xs]
            share = 0.7 if who == "centre" else 0.14
            scope = (f"whole hospital, {int(args.patients * share):,} patients in scope" if who == "centre" else
                     f"one ward, {int(args.patients * share):,} patients in scope: others' patients are not found")
            print(f"\n{who} ({scope}): {len(every)} searches  p50 {pct(every, 50):.1f} ms  "
                  f"p95 {pct(every, 95):.1f} ms  p99 {pct(every, 99):.1f} ms  max {max(every):.1f} ms  (target p99 < 100 ms)")
            print(f"  floor under the same load (SELECT 1 round trip): p50 {pct(bare, 50):.2f} ms  "
                  f"p99 {pct(bare, 99):.2f} ms; a search makes 3-5 round trips")
            for kind, xs in times.items():
                print(f"  {kind:24s} n={len(xs):4d}  found {found[kind] / len(xs):4.0%}  p50 {pct(xs, 50):6.1f}  "
                      f"p99 {pct(xs, 99):6.1f} ms  mean {statistics.mean(xs):6.1f}")


if __name__ == "__main__":
    main()
