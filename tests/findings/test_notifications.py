"""notify() is the one way to tell users something; the bell counts a user's unread ones on every
page, the page lists them, opening one marks it read, nobody reads another's."""
import pytest
from sqlalchemy import select

from followup.core.clock import utcnow
from followup.models import AuditEvent
from followup.models.notification import Notification
from followup.notifications import notify, unread_count


def test_notify_writes_one_row_per_distinct_user_and_is_audited(world, db):
    rows = notify(db.session, [world.nurse.id, world.nurse.id, world.qa.id], "feedback.ready",
                  "心内科 11月反馈已生成", "/ledger/", utcnow())
    db.session.commit()
    assert sorted(r.user_id for r in rows) == sorted([world.nurse.id, world.qa.id])
    assert unread_count(db.session, world.nurse.id) == 1
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "notification.send"))
    assert ev.detail["kind"] == "feedback.ready" and sorted(ev.detail["users"]) == sorted([world.nurse.id, world.qa.id])


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_a_notification_link_is_a_local_path_only(world, db, link):
    with pytest.raises(ValueError):
        notify(db.session, [world.nurse.id], "x", "t", link, utcnow())


def test_the_bell_counts_unread_and_the_page_opens_and_marks_read(world, db, as_user):
    notify(db.session, [world.nurse.id], "escalation.task", "心内科: 3 项随访任务临近或超过期限", "/calls/", utcnow())
    notify(db.session, [world.nurse.id], "escalation.task", "<script>alert(1)</script>", "", utcnow())
    db.session.commit()
    nurse = as_user(world.nurse)
    home = nurse.get("/").get_data(as_text=True)
    assert 'class="bell has-unread"' in home and '<span class="count">2</span>' in home
    page = nurse.get("/notifications/").get_data(as_text=True)
    assert "心内科: 3 项随访任务临近或超过期限" in page and "<script>alert(1)" not in page
    first = db.session.scalar(select(Notification).where(Notification.link == "/calls/"))
    resp = nurse.post(f"/notifications/{first.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/calls/")
    assert unread_count(db.session, world.nurse.id) == 1
    assert '<span class="count">1</span>' in nurse.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in nurse.get("/notifications/?unread=1").get_data(as_text=True)
    nurse.post("/notifications/read-all")
    assert unread_count(db.session, world.nurse.id) == 0
    assert 'class="bell"' in nurse.get("/").get_data(as_text=True)


def test_another_users_notification_is_not_found(world, db, as_user):
    n = notify(db.session, [world.nurse.id], "x", "only for the nurse", "/calls/", utcnow())[0]
    db.session.commit()
    other = as_user(world.ortho_nurse)
    assert other.post(f"/notifications/{n.id}/open").status_code == 404
    assert "only for the nurse" not in other.get("/notifications/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Notification, n.id).read_at is None
