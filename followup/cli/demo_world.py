"""A demo city to explore and develop against: regions, hospitals, wards, one user per role, and
a few thousand synthetic discharges with their follow-up tasks. Synthetic people only."""
import random
import secrets
from datetime import date, datetime, time, timedelta

import phonenumbers
from faker import Faker
from sqlalchemy import select
from stdnum.cn import ric

from ..core.clock import LOCAL_TZ, local_date, utcnow
from ..extensions import db
from ..models import Discharge, Hospital, Patient, Region, Role, User, Ward
from ..patients.identity import set_id_number, set_name, set_phones
from ..calls.scheduling import create_tasks
from ..security.users import create_user

CITY = ("371500", "聊城市")
COUNTIES = [("371502", "东昌府区"), ("371521", "阳谷县")]
HOSPITALS = [  # code, name, grade, region code (the city code = 市直)
    ("H371500001", "聊城市人民医院", "三级甲等", "371500"),
    ("H371502001", "东昌府区人民医院", "二级甲等", "371502"),
    ("H371521001", "阳谷县人民医院", "二级甲等", "371521"),
]
WARDS = [("XNK", "心内科"), ("HXNK", "呼吸内科"), ("PWK", "普外科"), ("GK", "骨科"),
         ("SJNK", "神经内科"), ("NFMK", "内分泌科")]
# Functional departments (职能科室): no discharges, they answer opinions and ledger items.
FUNCTIONAL = [("ZN001", "收费处"), ("ZN002", "医务科"), ("ZN003", "后勤保障科")]
DIAGNOSES = {  # ward → (ICD-10, name, medicines, rehab)
    "XNK": [("I25.103", "冠状动脉粥样硬化性心脏病", "阿司匹林肠溶片 100mg 每日一次\n阿托伐他汀钙片 20mg 每晚一次", "低盐低脂饮食，避免剧烈运动，逐步恢复步行锻炼"),
            ("I10.x00", "高血压病", "苯磺酸氨氯地平片 5mg 每日一次", "每日监测血压并记录，限盐每日5克以下")],
    "HXNK": [("J18.900", "肺炎", "阿莫西林胶囊 0.5g 每日三次", "注意保暖，多饮水，进行呼吸功能锻炼"),
             ("J44.100", "慢性阻塞性肺疾病伴急性加重", "噻托溴铵粉吸入剂 18μg 每日一次", "缩唇呼吸、腹式呼吸训练，戒烟")],
    "PWK": [("K80.100", "胆囊结石伴胆囊炎", "熊去氧胆酸胶囊 250mg 每日两次", "低脂饮食，伤口保持干燥，一周后门诊换药"),
            ("K35.800", "急性阑尾炎", "头孢克肟胶囊 100mg 每日两次", "两周内避免重体力劳动")],
    "GK": [("S72.000", "股骨颈骨折", "钙尔奇D片 600mg 每日一次\n利伐沙班片 10mg 每日一次", "助行器下地，患肢不负重，股四头肌等长收缩训练"),
           ("M51.202", "腰椎间盘突出症", "塞来昔布胶囊 200mg 每日一次", "佩戴腰围，卧硬板床，循序进行腰背肌锻炼")],
    "SJNK": [("I63.900", "脑梗死", "氯吡格雷片 75mg 每日一次\n阿托伐他汀钙片 20mg 每晚一次", "肢体功能康复训练，防跌倒，按时复查"),
             ("G45.900", "短暂性脑缺血发作", "阿司匹林肠溶片 100mg 每日一次", "控制血压血糖，规律作息")],
    "NFMK": [("E11.900", "2型糖尿病", "二甲双胍片 0.5g 每日三次\n门冬胰岛素注射液 餐前皮下注射", "监测血糖，控制饮食总热量，每日步行30分钟"),
             ("E05.000", "甲状腺功能亢进症", "甲巯咪唑片 10mg 每日一次", "避免高碘食物，定期复查甲功和血常规")],
}
DOCTORS = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"]
# One account per role: (username, role, scope)
DEMO_USERS = [
    ("nurse", Role.NURSE, {"hospital_code": "H371500001", "ward_codes": ["XNK", "HXNK"]}),
    ("nurse2", Role.NURSE, {"hospital_code": "H371502001", "ward_codes": ["GK"]}),
    ("centre", Role.CENTRE_STAFF, {"hospital_code": "H371500001"}),
    ("qa", Role.QA, {"hospital_code": "H371500001"}),
    ("hadmin", Role.HOSPITAL_ADMIN, {"hospital_code": "H371500001"}),
    ("responder", Role.DEPT_RESPONDER, {"hospital_code": "H371500001", "ward_codes": ["XNK"]}),
    ("cashier", Role.DEPT_RESPONDER, {"hospital_code": "H371500001", "ward_codes": ["ZN001"]}),
    ("county", Role.COUNTY_AUDITOR, {"region_code": "371502"}),
    ("city", Role.CITY_AUDITOR, {"region_code": "371500"}),
    ("sysadmin", Role.SYS_ADMIN, {}),
    ("secadmin", Role.SECURITY_ADMIN, {}),
    ("auditadmin", Role.AUDIT_ADMIN, {}),
]
# Display names as a Chinese team would write them (no mixed "演示nurse").
DEMO_NAMES = {"nurse": "演示护士甲", "nurse2": "演示护士乙", "centre": "演示随访中心", "qa": "演示质控",
              "hadmin": "演示医院管理员", "responder": "演示科室负责人", "cashier": "演示收费处负责人", "county": "演示县卫健局",
              "city": "演示市卫健委", "sysadmin": "演示系统管理员", "secadmin": "演示安全管理员",
              "auditadmin": "演示审计管理员"}
DISPOSITION_WEIGHTS = {"1": 90, "2": 3, "3": 3, "4": 2, "5": 1, "9": 1}


def seed_organisations() -> dict[str, Hospital]:
    city = _get_or_add(Region, code=CITY[0], defaults={"name": CITY[1], "level": "city"})
    regions = {city.code: city}
    for code, name in COUNTIES:
        regions[code] = _get_or_add(Region, code=code, defaults={"name": name, "level": "county", "parent": city})
    hospitals = {}
    for code, name, grade, region in HOSPITALS:
        h = _get_or_add(Hospital, code=code, defaults={"name": name, "grade": grade, "region": regions[region]})
        for wcode, wname in WARDS:
            _get_or_add(Ward, hospital_id=h.id, code=wcode, defaults={"name": wname})
        for wcode, wname in FUNCTIONAL:
            _get_or_add(Ward, hospital_id=h.id, code=wcode, defaults={"name": wname, "kind": "functional"})
        hospitals[code] = h
    db.session.flush()
    return hospitals


def _get_or_add(model, defaults=None, **keys):
    row = db.session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def seed_users() -> dict[str, str]:
    """Create the demo accounts that do not exist yet; return {username: new password}."""
    created = {}
    for username, role, scope in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        password = "demo-" + secrets.token_urlsafe(9)
        create_user(username, password, role, display_name=DEMO_NAMES[username], **scope)
        created[username] = password
    return created


def seed_discharges(count: int, today: date | None = None, seed: int = 20261125) -> int:
    """`count` synthetic discharges over the 30 days before today, with tasks. Idempotent per
    inpatient number, so running it twice adds nothing."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    today = today or local_date(utcnow())
    hospitals = db.session.scalars(select(Hospital).order_by(Hospital.code)).all()
    existing = set(db.session.scalars(select(Discharge.inpatient_no)))
    added = 0
    for i in range(count):
        h = hospitals[i % len(hospitals)]
        inpatient_no = f"{h.code[-3:]}{i + 1:07d}"
        if inpatient_no in existing:
            continue
        ward = rng.choice([w for w in h.wards if w.is_clinical])  # discharges only from clinical wards
        diag = rng.choice(DIAGNOSES[ward.code])
        birth = date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("12")
        discharge_day = today - timedelta(days=rng.randint(1, 30))  # never in the future
        discharge_at = datetime.combine(discharge_day, time(rng.randint(8, 18), rng.choice((0, 15, 30, 45))),
                                        tzinfo=LOCAL_TZ)
        patient = Patient(hospital_id=h.id, sex=sex, birth_date=birth)
        set_name(patient, fake.name_male() if sex == "1" else fake.name_female())
        set_phones(patient, [_mobile(rng)])
        set_id_number(patient, _resident_id(rng, h.region.code, birth, sex))
        d = Discharge(hospital_id=h.id, ward=ward, patient=patient, inpatient_no=inpatient_no,
                      admission_date=discharge_day - timedelta(days=rng.randint(2, 14)),
                      discharge_at=discharge_at, discharge_date=discharge_day,
                      disposition=rng.choices(list(DISPOSITION_WEIGHTS), DISPOSITION_WEIGHTS.values())[0],
                      diagnosis_code=diag[0], diagnosis_name=diag[1], medicines=diag[2],
                      rehab_instructions=diag[3], attending_doctor=rng.choice(DOCTORS))
        db.session.add(d)
        db.session.flush()
        create_tasks(d)
        added += 1
        if added % 500 == 0:
            db.session.commit()
    return added


def _mobile(rng) -> str:
    while True:
        n = f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"
        try:
            # Some 1xxxx prefixes are carrier-selection codes (e.g. 17951) that parsing strips.
            parsed = phonenumbers.parse(n, "CN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _resident_id(rng, region_code: str, birth: date, sex: str) -> str:
    seq = rng.randint(0, 99) * 10 + (rng.choice((1, 3, 5, 7, 9)) if sex == "1" else rng.choice((0, 2, 4, 6, 8)))
    body = f"{region_code}{birth:%Y%m%d}{seq:03d}"
    # stdnum's calc_check_digit reads all but the last character: pass a placeholder for it.
    return body + ric.calc_check_digit(body + "0")


OPINIONS = [("护士很耐心，解释得很清楚", "praise", "service_attitude"),
            ("出院结算排队时间太长", "complaint", "waiting_process"),
            ("病房卫生间不够干净", "suggestion", "environment"),
            ("检查费用没有提前说明", "complaint", "cost"),
            ("医院停车太难了", "suggestion", "parking_access")]


def seed_calls(count: int = 40, seed: int = 20261125) -> int:
    """Finished follow-ups for the demo nurse and centre (records, opinions, complaints on the
    ledger, a red flag), and the demo nurse made head nurse, so every call page has content.
    Runs once: does nothing when records exist."""
    from ..calls import queueing, records
    from ..models import FollowupTask, Level, TaskStatus
    from ..models.call import WardFollowup
    if db.session.scalar(select(WardFollowup.id).limit(1)):
        return 0
    rng = random.Random(seed)
    nurse, centre = (db.session.scalar(select(User).where(User.username == n)) for n in ("nurse", "centre"))
    nurse.is_head_nurse = True
    done = 0
    for user, level in ((nurse, Level.WARD), (centre, Level.HOSPITAL)):
        from ..core.access import task_filter
        tasks = db.session.scalars(select(FollowupTask).where(task_filter(user), FollowupTask.status == TaskStatus.OPEN)
                                   .order_by(FollowupTask.due_at).limit(count)).all()
        for i, task in enumerate(tasks):
            when = datetime.combine(task.discharge.discharge_date + timedelta(days=2), time(9, 30 + i % 25), tzinfo=LOCAL_TZ)
            queueing.claim_task(user, task.id, when)
            text, sentiment, category = OPINIONS[i % len(OPINIONS)]
            opinions = [{"text": text, "sentiment": sentiment, "category": category, "ward_id": task.ward_id}] if i % 3 == 0 else []
            if level == Level.WARD:
                records.save_ward_followup(user, task, {
                    "condition": rng.choice(["recovered", "improved", "improved", "unchanged", "worse"]),
                    "medication_adherence": [{"medicine": m, "as_prescribed": rng.random() > .1} for m in task.discharge.medicine_list],
                    "guidance": {"medication": {"given": True, "choices": ["on_time_dose", "no_self_stop"]},
                                 "rehab": {"given": True, "choices": ["gradual"], "text": task.discharge.rehab_instructions[:80]}},
                    "red_flag": i % 15 == 7, "red_flag_note": "诉胸闷气短加重，需医生评估" if i % 15 == 7 else "",
                    "opinions": opinions}, when)
            else:
                scores = {f"sat_{d}": rng.choice([3, 4, 4, 5, 5]) for d in ("overall", "doctors", "nurses", "environment", "cost", "process")}
                records.save_hospital_followup(user, task, {**scores, "opinions": opinions}, when)
            done += 1
    return done
