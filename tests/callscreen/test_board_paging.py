"""The ward board past 200 rows: paged sections whose counts are exactly the queue's, filtered
like the queue, assigned from one bar per page (issue 15 point 4)."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from followup.models import FollowupTask, Level, TaskStatus
from followup.calls.board import PAGE_SIZE

from .conftest import NOW

N_OVERDUE = 224  # the figure: more than the old silent cap of 200


@pytest.fixture
def busy_ward(world, db, frozen):
    world.nurse.is_head_nurse = True
    db.session.commit()
    for i in range(N_OVERDUE):  # discharged 1–10 November: every ward task overdue on 23 November
        world.discharge(world.cardiology, discharged=date(2026, 11, 1) + timedelta(days=i % 10), name="李秀英")
    for _ in range(3):  # discharged on the 16th: due within the day, still on time
        world.discharge(world.cardiology, discharged=date(2026, 11, 16), name="李秀英")
    return world


def _tile(body, tile_id):
    return int(re.search(rf'id="{tile_id}"[^>]*><b>(\d+)</b>', body).group(1))


def _queue_tiles(client):
    body = client.get("/calls/").get_data(as_text=True)
    stats = re.findall(r'<div class="stat[^"]*"><b>(\d+)</b><span>([^<]+)</span>', body)
    return {label: int(n) for n, label in stats}


def _ticked_ids(body):
    return re.findall(r'name="task_id" value="(\d+)"', body)


def test_the_board_counts_are_the_queues_and_every_overdue_row_is_on_some_page(busy_ward, db, as_user):
    w = busy_ward
    client = as_user(w.nurse)
    queue = _queue_tiles(client)
    first = client.get("/calls/board/?section=overdue").get_data(as_text=True)
    in_db = db.session.scalar(select(func.count()).select_from(FollowupTask).where(
        FollowupTask.ward_id == w.cardiology.id, FollowupTask.level == Level.WARD,
        FollowupTask.status.in_([TaskStatus.OPEN, TaskStatus.CLAIMED]), FollowupTask.due_at <= NOW))
    assert in_db > 200
    assert _tile(first, "tile-overdue") == queue["已超期"] == in_db  # not "200 已超期"
    assert _tile(first, "tile-at-risk") == queue["24小时内到期"]
    seen, page = [], 1
    while True:
        body = client.get(f"/calls/board/?section=overdue&page={page}").get_data(as_text=True)
        ids = _ticked_ids(body)
        assert len(ids) <= PAGE_SIZE and body.count("<select") <= 4  # one assign select, the filters: not one per row
        seen += ids
        if "下一页" not in body:
            break
        page += 1
    assert len(seen) == len(set(seen)) == in_db and page == -(-in_db // PAGE_SIZE)


def test_the_default_section_is_the_savable_one_and_filters_narrow_the_counts(busy_ward, db, as_user):
    client = as_user(busy_ward.nurse)
    body = client.get("/calls/board/").get_data(as_text=True)
    assert 'id="at-risk"' in body and len(_ticked_ids(body)) == _tile(body, "tile-at-risk") == 3
    claimed_only = client.get("/calls/board/?section=overdue&status=claimed").get_data(as_text=True)
    assert _tile(claimed_only, "tile-overdue") == 0 and _ticked_ids(claimed_only) == []
    assert "没有符合筛选条件的任务" in claimed_only


def test_ticked_rows_are_assigned_in_one_post_and_the_board_comes_back_where_it_was(busy_ward, db, as_user):
    from followup.models import Role
    from followup.security.users import create_user
    w = busy_ward
    caller = create_user("nurse_a3", w.PASSWORD, Role.NURSE, hospital_code="HA", ward_codes=["XNK"])
    db.session.commit()
    client = as_user(w.nurse)
    ids = _ticked_ids(client.get("/calls/board/?section=overdue&page=2").get_data(as_text=True))[:5]
    resp = client.post("/calls/board/assign?section=overdue&page=2", data={"task_id": ids, "caller_id": caller.id})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/calls/board/?section=overdue&page=2")
    db.session.expire_all()
    assert {t.assigned_to_id for t in db.session.scalars(select(FollowupTask).where(
        FollowupTask.id.in_([int(i) for i in ids])))} == {caller.id}
    # another ward's nurse cannot be given them; a task outside the head's scope is not touched
    other = db.session.scalar(select(FollowupTask).where(FollowupTask.ward_id == w.ward_b.id)) \
        or w.discharge(w.ward_b).tasks[0]
    client.post("/calls/board/assign", data={"task_id": [ids[0], other.id], "caller_id": w.ortho_nurse.id})
    db.session.expire_all()
    assert db.session.get(FollowupTask, int(ids[0])).assigned_to_id == caller.id
    assert db.session.get(FollowupTask, other.id).assigned_to_id is None
