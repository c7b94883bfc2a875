"""Twenty callers press "next call" at the same moment, each with its own app context and
database session: no task is handed out twice and none is left behind."""
import threading
from collections import Counter

from sqlalchemy import select

from followup.calls import queueing
from followup.extensions import db as _db
from followup.models import FollowupTask, Level, Role, TaskStatus, User
from followup.security.users import create_user

from .conftest import at

CALLERS = 20
TASKS = 60


def test_twenty_concurrent_claimers_never_share_a_task(make_app, db, world):
    # A pool as large as the crowd: each caller holds its own connection, as under gunicorn.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": CALLERS + 2, "max_overflow": 0, "pool_timeout": 60})
    for i in range(TASKS):
        world.discharge(world.cardiology, inpatient_no=f"C{i:04d}")
    ids = []
    for i in range(CALLERS):
        ids.append(create_user(f"caller{i:02d}", world.PASSWORD, Role.NURSE, hospital_code="HA",
                               ward_codes=["XNK"]).id)
    db.session.commit()
    start = threading.Barrier(CALLERS)
    claimed: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def caller(user_id: int):
        with app.app_context():
            try:
                user = _db.session.get(User, user_id)
                user.ward_ids  # loaded before the start: the race is over tasks, not users
                start.wait(60)
                while True:
                    task = queueing.next_task(user, at(21, 9))
                    if task is None:
                        break
                    with lock:
                        claimed.append((task.id, user_id))
                    _db.session.commit()
            except BaseException as exc:  # reported below; a thread cannot fail the test itself
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=caller, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    counts = Counter(task_id for task_id, _ in claimed)
    assert [t for t, n in counts.items() if n > 1] == []
    ward_tasks = set(db.session.scalars(select(FollowupTask.id).where(FollowupTask.level == Level.WARD)))
    assert set(counts) == ward_tasks and len(ward_tasks) == TASKS
    db.session.expire_all()
    holders = dict(db.session.execute(select(FollowupTask.id, FollowupTask.claimed_by_id)
                                      .where(FollowupTask.status == TaskStatus.CLAIMED)).all())
    assert holders == dict(claimed)  # each task is held by the caller it was handed to
    assert len({uid for _, uid in claimed}) > 1  # the callers really competed
