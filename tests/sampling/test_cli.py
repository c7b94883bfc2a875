"""`flask followup draw-sample` / `verify-sample`."""
import json

from sqlalchemy import select

from followup.extensions import db
from followup.models.sample import SampledRecord


def test_draw_sample_prints_one_json_object_and_verify_sample_exits_zero(world, populate, runner):
    populate(world.cardiology, 250)
    populate(world.ward_b, 3)
    populate(world.ward_city, 1001)
    result = runner.invoke(args=["followup", "draw-sample", "--region", "371500", "--period", "2026-10",
                                 "--rate", "0.1%", "--public-seed", "2026-10-31 07 19 23"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["population_size"] == 1254 and len(out["population_digest"]) == 64
    assert out["hospitals"] == [{"hospital": "HA", "population": 250, "sample": 1},
                                {"hospital": "HB", "population": 3, "sample": 1},
                                {"hospital": "HC", "population": 1001, "sample": 2}]
    assert out["sample_size"] == 4
    verify = runner.invoke(args=["followup", "verify-sample", str(out["sample_id"])])
    assert verify.exit_code == 0 and "identical" in verify.output


def test_verify_sample_exits_non_zero_and_says_what_differs(world, populate, runner):
    populate(world.cardiology, 250)
    out = json.loads(runner.invoke(args=["followup", "draw-sample", "--region", "371502", "--period",
                                         "2026-10", "--rate", "0.02", "--public-seed", "s"]).output)
    rec = db.session.scalars(select(SampledRecord).order_by(SampledRecord.position)).first()
    rec.position = 99
    db.session.commit()
    verify = runner.invoke(args=["followup", "verify-sample", str(out["sample_id"])])
    assert verify.exit_code != 0 and "different order" in verify.output


def test_draw_sample_refuses_bad_input_clearly(world, runner):
    cases = {("--region", "999999"): "no region", ("--period", "2026-13"): "YYYY-MM",
             ("--rate", "0.5%"): "at least 1%"}
    for (opt, value), message in cases.items():
        args = {"--region": "371502", "--period": "2026-10", "--rate": "1%", "--public-seed": "s", opt: value}
        result = runner.invoke(args=["followup", "draw-sample", *[x for kv in args.items() for x in kv]])
        assert result.exit_code != 0 and message in result.output, (opt, result.output)
    assert runner.invoke(args=["followup", "verify-sample", "12345"]).exit_code != 0
