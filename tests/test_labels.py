"""Code labels through the catalogue: 离院方式 shows the standard's own Chinese names in Chinese
(one label, one meaning: the names files and the API carry as data) and English in English."""
from flask_babel import force_locale

from followup.core.labels import DISPOSITION_LABELS
from followup.models.discharge import DISPOSITIONS


def test_every_disposition_has_a_label_whose_chinese_is_the_standards_name(app):
    assert DISPOSITION_LABELS.keys() == DISPOSITIONS.keys()
    with app.test_request_context(), force_locale("zh_CN"):
        assert {c: str(label) for c, label in DISPOSITION_LABELS.items()} == DISPOSITIONS
    with app.test_request_context(), force_locale("en"):
        english = {c: str(label) for c, label in DISPOSITION_LABELS.items()}
    assert english["1"] == "Discharged on medical advice" and english["5"] == "Deceased"


def test_a_stay_shows_its_disposition_in_the_readers_language(world, db, as_user):
    d = world.discharge(world.cardiology)
    d.disposition = "2"
    db.session.commit()
    qa = as_user(world.qa)
    assert "医嘱转院" in qa.get(f"/discharges/{d.id}").get_data(as_text=True)
    en = qa.get(f"/discharges/{d.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Transferred on medical advice" in en and "医嘱转院" not in en
