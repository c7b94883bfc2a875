"""`flask followup draw-sample` and `verify-sample`: draw and check commission audit samples."""
import json

import click
from sqlalchemy import select

from ..extensions import db
from ..models import Hospital, Region, User
from ..models.sample import AuditSample
from ..sampling.draw import DrawError, DrawRequest, draw_sample
from ..sampling.population import PeriodError, month_period
from ..sampling.verify import check_sample
from . import followup_cli


@followup_cli.command("draw-sample")
@click.option("--region", "region_code", required=True, help="County or city code, e.g. 371502.")
@click.option("--period", required=True, help="Calendar month YYYY-MM (Asia/Shanghai).")
@click.option("--rate", required=True, help="0.01 or 1%; at least 1% (county) / 0.1% (city).")
@click.option("--public-seed", required=True, help="A public value, e.g. a published lottery number.")
@click.option("--reason", default="", help="Required when the region and period already have a draw.")
@click.option("--by", "username", help="The auditor on whose behalf the draw is made.")
def draw_sample_cmd(region_code, period, rate, public_seed, reason, username):
    """Draw a sample and print one JSON object describing it."""
    region = db.session.scalar(select(Region).where(Region.code == region_code))
    if region is None:
        raise click.ClickException(f"no region with code {region_code!r}")
    user = None
    if username:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
    try:
        start, end = month_period(period)
        sample = draw_sample(DrawRequest(region, start, end, rate, public_seed, reason), user=user)
    except (DrawError, PeriodError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    codes = dict(db.session.execute(select(Hospital.id, Hospital.code)).all())
    click.echo(json.dumps({
        "sample_id": sample.id, "region": region.code, "period": period, "draw_no": sample.draw_no,
        "rate": sample.rate, "algorithm": sample.algorithm, "population_size": sample.population_size,
        "population_digest": sample.population_digest, "sample_size": sample.sample_size,
        "sample_digest": sample.sample_digest,
        "hospitals": [{"hospital": codes[st.hospital_id], "population": st.population_size,
                       "sample": st.sample_size} for st in sample.strata],
    }, ensure_ascii=False))


@followup_cli.command("verify-sample")
@click.argument("sample_id", type=int)
def verify_sample_cmd(sample_id):
    """Recompute a sample from its frozen population and seeds; exit 0 only if identical."""
    sample = db.session.get(AuditSample, sample_id)
    if sample is None:
        raise click.ClickException(f"no sample {sample_id}")
    check = check_sample(sample)
    db.session.commit()
    if not check.ok:
        raise click.ClickException("sample {} differs:\n  {}".format(sample_id, "\n  ".join(check.problems)))
    click.echo(f"sample {sample_id} verified: identical (population {sample.population_size}, "
               f"digest {sample.population_digest}; sample {sample.sample_size})")
