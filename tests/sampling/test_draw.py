"""Drawing against the database: population, strata, redraws, freezing, verification."""
from datetime import date

import pytest
from sqlalchemy import select, update

from followup.extensions import db
from followup.models import AuditEvent, Discharge
from followup.models.sample import AuditSample, SampledRecord, SampleStratum
from followup.sampling import algorithm as alg
from followup.sampling.draw import DrawError
from followup.sampling.verify import check_sample, population_drift, verify_sample


def _sampled(sample):
    return set(db.session.scalars(select(SampledRecord.discharge_id).where(SampledRecord.sample_id == sample.id)))


def test_county_population_is_its_hospitals_eligible_discharges_of_the_month(world, populate, draw):
    in_a = populate(world.cardiology, 150) + populate(world.orthopaedics, 50)
    populate(world.cardiology, 5, disposition="5")            # died in hospital: not eligible
    populate(world.cardiology, 7, day=date(2026, 11, 1))      # next month
    populate(world.cardiology, 3, day=date(2026, 9, 30))      # previous month
    populate(world.ward_b, 40)                                 # another county
    populate(world.ward_city, 60)                              # 市直
    sample = draw(world.county_a)
    assert sample.population_size == 200
    assert [(s.hospital_id, s.population_size, s.sample_size) for s in sample.strata] == [
        (world.hospital_a.id, 200, 2)]
    assert _sampled(sample) <= set(in_a)


def test_city_direct_hospitals_are_never_in_a_county_population_but_are_in_the_city(world, populate, draw):
    city_ids = populate(world.ward_city, 300)
    populate(world.cardiology, 120)
    populate(world.ward_b, 1)
    for county in (world.county_a, world.county_b):
        sample = draw(county)
        assert world.city_hospital.id not in {s.hospital_id for s in sample.strata}
        assert not _sampled(sample) & set(city_ids)
    city = draw(world.city, rate="0.001")
    sizes = {s.hospital_id: (s.population_size, s.sample_size) for s in city.strata}
    assert sizes == {world.city_hospital.id: (300, 1), world.hospital_a.id: (120, 1), world.hospital_b.id: (1, 1)}


def test_a_region_with_no_discharges_draws_an_empty_sample_that_verifies(world, draw):
    sample = draw(world.county_b)
    assert (sample.population_size, sample.sample_size) == (0, 0)
    assert [(s.population_size, s.sample_size) for s in sample.strata] == [(0, 0)]
    assert verify_sample(sample) == []


def test_rate_below_the_county_floor_is_refused_and_nothing_is_written(world, populate, draw):
    populate(world.cardiology, 10)
    with pytest.raises(DrawError, match="at least 1%") as exc:
        draw(world.county_a, rate="0.5%")
    assert exc.value.field == "rate"
    with pytest.raises(DrawError, match="at least 0.1%"):
        draw(world.city, rate="0.0005")
    db.session.rollback()
    assert db.session.scalar(select(AuditSample.id)) is None


def test_a_second_draw_needs_a_written_reason_and_both_are_kept(world, populate, draw):
    populate(world.cardiology, 300)
    first = draw(world.county_a)
    with pytest.raises(DrawError, match="reason"):
        draw(world.county_a, system_seed=bytes(32))
    db.session.rollback()
    second = draw(world.county_a, reason="第一次抽样时导入未完成", system_seed=bytes(32))
    assert (first.draw_no, second.draw_no) == (1, 2)
    assert db.session.scalar(select(AuditSample.reason).where(AuditSample.id == second.id)) == "第一次抽样时导入未完成"
    assert len(db.session.scalars(select(AuditSample)).all()) == 2
    assert _sampled(first) != _sampled(second)


def test_same_seeds_and_population_give_identical_samples(world, populate, draw):
    populate(world.cardiology, 500)
    a = draw(world.county_a)
    b = draw(world.county_a, reason="repeat to compare")
    c = draw(world.county_a, reason="other public seed", public_seed="other")
    assert _sampled(a) == _sampled(b) and a.sample_digest == b.sample_digest
    assert a.population_digest == b.population_digest == c.population_digest
    assert _sampled(a) != _sampled(c)


def test_the_draw_is_audited_and_the_real_seed_is_fresh_each_time(world, populate, draw):
    populate(world.cardiology, 100)
    a = draw(world.county_a, system_seed=None, user=world.county_auditor)
    b = draw(world.county_a, system_seed=None, reason="second draw check")
    assert a.system_seed != b.system_seed and len(bytes.fromhex(a.system_seed)) == 32
    ev = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sample.draw")).first()
    assert (ev.user_id, ev.object_id, ev.detail["population"]) == (world.county_auditor.id, a.id, 100)


def test_late_arrivals_do_not_change_a_frozen_sample_and_are_counted(world, populate, draw):
    populate(world.cardiology, 250)
    sample = draw(world.county_a)
    before = _sampled(sample)
    populate(world.cardiology, 40)  # imported after the draw
    db.session.expire_all()
    assert verify_sample(sample) == []
    assert _sampled(sample) == before
    assert population_drift(sample) == {world.hospital_a.id: {"late": 40, "gone": 0}}


def test_a_record_changed_to_died_after_the_draw_is_counted_as_gone(world, populate, draw):
    ids = populate(world.cardiology, 20)
    sample = draw(world.county_a)
    db.session.execute(update(Discharge).where(Discharge.id == ids[0]).values(disposition="5"))
    db.session.commit()
    assert population_drift(sample)[world.hospital_a.id] == {"late": 0, "gone": 1}


def test_verify_detects_a_tampered_frozen_population(world, populate, draw):
    populate(world.cardiology, 300)
    sample = draw(world.county_a)
    stratum = db.session.get(SampleStratum, (sample.id, world.hospital_a.id))
    ids = alg.decode_ids(stratum.population_ids).tolist()
    stratum.population_ids = alg.encode_ids(ids[1:])  # drop one patient from the frozen list
    db.session.commit()
    problems = verify_sample(sample)
    assert any("does not match its digest" in p for p in problems), problems
    # …even when the tamperer also fixes the stratum's own digest and size:
    stratum.population_digest = alg.stratum_digest(stratum.population_ids)
    stratum.population_size = len(ids) - 1
    db.session.commit()
    assert any("population digest differs" in p for p in verify_sample(sample))


def test_verify_detects_a_swapped_sampled_record(world, populate, draw):
    ids = populate(world.cardiology, 300)
    sample = draw(world.county_a)
    outsider = next(i for i in ids if i not in _sampled(sample))
    rec = db.session.scalars(select(SampledRecord).where(SampledRecord.sample_id == sample.id)).first()
    rec.discharge_id = outsider
    db.session.commit()
    problems = verify_sample(sample)
    assert any("sampled records differ" in p and str(outsider) in p for p in problems), problems


def test_verify_detects_a_changed_seed_or_rate(world, populate, draw):
    populate(world.cardiology, 300)
    sample = draw(world.county_a)
    sample.public_seed = "a different lottery number"
    db.session.commit()
    assert verify_sample(sample)
    sample.public_seed = "2026-10 lottery 07 19 23"
    sample.rate = "0.02"
    db.session.commit()
    assert any("by the rate" in p for p in verify_sample(sample))


def test_check_sample_keeps_the_result(world, populate, draw):
    populate(world.cardiology, 30)
    sample = draw(world.county_a)
    check = check_sample(sample, user=world.county_auditor)
    db.session.commit()
    assert check.ok and check.problems == []


def test_two_simultaneous_first_draws_cannot_both_be_draw_one(world, populate, draw, monkeypatch):
    populate(world.cardiology, 10)
    draw(world.county_a)
    # The second request counted the draws before the first committed.
    monkeypatch.setattr("followup.sampling.draw.previous_draws", lambda *a: 0)
    with pytest.raises(DrawError, match="same moment"):
        draw(world.county_a)
    db.session.rollback()
    assert len(db.session.scalars(select(AuditSample)).all()) == 1


def test_the_system_seed_comes_from_the_csprng_at_the_moment_of_the_draw(world, populate, draw, monkeypatch):
    import secrets
    made = []

    def token_bytes(n):
        made.append(secrets.SystemRandom().randbytes(n))
        return made[-1]
    populate(world.cardiology, 10)
    monkeypatch.setattr("followup.sampling.draw.secrets.token_bytes", token_bytes)
    assert made == []  # nothing exists before the draw that anyone could read
    sample = draw(world.county_a, system_seed=None)
    assert [m.hex() for m in made] == [sample.system_seed]
