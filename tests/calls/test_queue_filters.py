"""The queue's filters (ward, level, status, overdue): each option's count is the number of rows
the list shows when it is chosen, and the header counts follow the filter."""
from datetime import date

from werkzeug.datastructures import MultiDict

from followup.calls import policy, queue_view, queueing

from .conftest import at


def test_filter_counts_match_the_rows_shown(db, world):
    world.nurse.wards.append(world.orthopaedics)
    db.session.commit()
    for ward, day in [(world.cardiology, 10), (world.cardiology, 18), (world.cardiology, 20),
                      (world.orthopaedics, 12), (world.orthopaedics, 21)]:
        world.discharge(ward, discharged=date(2026, 11, day))
    now, pol = at(21, 9), policy.default()
    claimed = queueing.next_task(world.nurse, now, pol)
    db.session.commit()
    base = queue_view.queue_view(world.nurse, now, pol, MultiDict())
    assert base["facets"]["all"] == base["counts"]["open"] == len(base["rows"]) == 5
    choices = [{"ward": str(f.value)} for f in base["facets"]["ward"]] + \
              [{"status": f.value} for f in base["facets"]["status"]] + [{"overdue": "1"}]
    for args in choices:
        view = queue_view.queue_view(world.nurse, now, pol, MultiDict(args))
        shown = {**{"ward": base["facets"]["ward"], "status": base["facets"]["status"]}}
        key = next(iter(args))
        expected = base["facets"]["overdue"] if key == "overdue" else \
            next(f.count for f in shown[key] if f.value == args[key])
        assert len(view["rows"]) == view["counts"]["open"] == expected, args
    by_ward = {f.label: f.count for f in base["facets"]["ward"]}
    assert by_ward == {"心内科": 3, "骨科": 2}
    assert {f.value: f.count for f in base["facets"]["status"]} == {"open": 4, "claimed": 1}
    assert base["facets"]["overdue"] == 2  # discharged 10 and 12 Nov: due 19 and 21 Nov 00:00
    only_claimed = queue_view.queue_view(world.nurse, now, pol, MultiDict({"status": "claimed"}))
    assert [r["id"] for r in only_claimed["rows"]] == [claimed.id]
    # combined: cardiology and overdue
    both = queue_view.queue_view(world.nurse, now, pol, MultiDict({"ward": str(world.cardiology.id), "overdue": "1"}))
    assert len(both["rows"]) == both["counts"]["open"] == 1


def test_the_queue_page_filters_by_ward(db, world, as_user, ward_tasks):
    world.nurse.wards.append(world.orthopaedics)
    db.session.commit()
    world.discharge(world.orthopaedics, inpatient_no="GK0001")
    page = as_user(world.nurse).get(f"/calls/?ward={world.orthopaedics.id}").get_data(as_text=True)
    assert "骨科 (1)" in page and "心内科 (3)" in page
    assert page.count("<td>骨科</td>") == 1 and page.count("<td>心内科</td>") == 0
