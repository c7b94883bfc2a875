"""Fixtures for the attacker's-eye tests: a policy setter and a world seeded with hostile text."""
from datetime import date

import pytest
from sqlalchemy import select
from attack_data import FORMULA_PAYLOADS, XSS_PAYLOADS


@pytest.fixture
def set_policy(db):
    """set_policy(**fields): save a security policy row (defaults for the rest)."""
    from followup.security.policy import POLICY_ID
    from followup.models.security import SecurityPolicy

    def do(**fields):
        row = db.session.get(SecurityPolicy, POLICY_ID) or SecurityPolicy(id=POLICY_ID, mfa_roles=[])
        for k, v in fields.items():
            setattr(row, k, v)
        db.session.add(row)
        db.session.commit()
        return row
    return do


@pytest.fixture
def hostile_world(world, db):
    """The world, plus in every ward a discharge whose patient name is a payload, and opinions
    and ledger items whose free text is a payload. Returns the world."""
    from sqlalchemy import select
    from followup.models import Ward
    from followup.models.department import DepartmentFeedback
    from followup.models.opinion import ItemCase, Opinion, RectificationItem
    wards = [world.cardiology, world.orthopaedics, world.ward_b, world.ward_city]
    for i, payload in enumerate(XSS_PAYLOADS[:-1] + FORMULA_PAYLOADS):
        ward = wards[i % len(wards)]
        d = world.discharge(ward, name=payload[:32], discharged=date(2026, 11, 18))
        op = Opinion(hospital_id=ward.hospital_id, discharge_id=d.id, text=payload, sentiment="complaint",
                     category="other", ward_id=ward.id, original_sentiment="complaint",
                     original_category="other", recorded_by_id=world.centre.id)
        db.session.add(op)
        db.session.flush()
        item = RectificationItem(hospital_id=ward.hospital_id, ward_id=ward.id, opinion_id=op.id,
                                 problem=payload, cause=payload, measures=payload,
                                 due_date=date(2026, 12, 1), created_by_id=world.qa.id, status="responded")
        db.session.add(item)
        db.session.flush()
        # Intake details, the reply and evidence in hostile text; hospital A's items are also
        # county A's findings (so the commission's pages show them).
        db.session.add(ItemCase(item_id=item.id, discharge_id=d.id, channel="hotline_12345", evidence_text=payload,
                                reply_text=payload, reply_at=d.discharge_at, reply_by_id=world.qa.id,
                                commission_region_id=world.county_a.id if ward.hospital_id == world.hospital_a.id else None))
    # A functional department named with hostile text, and every department's monthly feedback.
    db.session.add(Ward(hospital_id=world.hospital_a.id, code="ZN900", name=XSS_PAYLOADS[1], kind="functional"))
    db.session.flush()
    for ward in db.session.scalars(select(Ward)):
        db.session.add(DepartmentFeedback(hospital_id=ward.hospital_id, ward_id=ward.id, month="2026-11"))
    db.session.commit()
    # Hostile text in every user's notifications (issue 14), shown on the bell's page.
    from followup.core.clock import utcnow
    from followup.models import User
    from followup.notifications import notify
    users = db.session.scalars(select(User.id)).all()
    for payload in XSS_PAYLOADS[:-1]:
        notify(db.session, users, "test", payload, "/", utcnow())
    db.session.commit()
    return world
