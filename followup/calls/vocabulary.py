"""Labels and structured choices of the call forms, in one place (English msgids; the catalogue
gives the Chinese). Stored values are the keys; templates show the labels."""
from flask_babel import lazy_gettext as _l

from ..models.call import GUIDANCE_AREAS, SATISFACTION_DIMENSIONS, Condition, DurationSource, Outcome, Respondent
from ..models.opinion import Category, Sentiment

OUTCOME_LABELS = {
    Outcome.ANSWERED: _l("Answered"), Outcome.NO_ANSWER: _l("No answer"), Outcome.BUSY: _l("Busy"),
    Outcome.POWERED_OFF: _l("Powered off"), Outcome.WRONG_NUMBER: _l("Wrong or invalid number"),
    Outcome.REFUSED: _l("Refused"), Outcome.DECEASED: _l("Patient deceased"),
    Outcome.READMITTED: _l("Readmitted"), Outcome.CALLBACK: _l("Call back later"),
}
# Access keys of the outcome buttons on the call screen (Alt+key in Chromium, Alt+Shift in Firefox);
# none of D, E, F, which Chromium keeps for itself.
OUTCOME_KEYS = {Outcome.ANSWERED: "a", Outcome.NO_ANSWER: "n", Outcome.BUSY: "b", Outcome.POWERED_OFF: "o",
                Outcome.WRONG_NUMBER: "w", Outcome.REFUSED: "r", Outcome.DECEASED: "u",
                Outcome.READMITTED: "h", Outcome.CALLBACK: "c"}

# Why a task ended without a follow-up (FollowupTask.close_reason, set by calls/policy.py).
CLOSE_REASON_LABELS = {"deceased": _l("Patient deceased"), "refused": _l("Refused"), "readmitted": _l("Readmitted"),
                       "unreachable": _l("Unreachable after all attempts"), "invalid_number": _l("No valid number"),
                       "do_not_call": _l("Do not call (refuses all follow-up)")}

RESPONDENT_LABELS = {Respondent.PATIENT: _l("The patient"), Respondent.FAMILY: _l("A family member"),
                     Respondent.OTHER: _l("Someone else")}
DURATION_SOURCE_LABELS = {DurationSource.CALLER: _l("entered by the caller"),
                          DurationSource.PHONE_SYSTEM: _l("reported by the phone system")}

CONDITION_LABELS = {
    Condition.RECOVERED: _l("Recovered"), Condition.IMPROVED: _l("Improved"),
    Condition.UNCHANGED: _l("Unchanged"), Condition.WORSE: _l("Worse"), Condition.READMITTED: _l("Readmitted"),
}

GUIDANCE_LABELS = {
    "medication": _l("Medication use"), "rehab": _l("Rehab exercise"), "daily_living": _l("Daily living"),
    "diet": _l("Diet"), "self_care": _l("Self-care"),
}
# The structured choices of each guidance area: what was covered on the call.
GUIDANCE_CHOICES = {
    "medication": {"on_time_dose": _l("Take on time, at the prescribed dose"),
                   "no_self_stop": _l("Do not stop or change doses on your own"),
                   "side_effects": _l("Watch for side effects"), "storage": _l("Store medicines properly")},
    "rehab": {"exercise_plan": _l("Exercise plan explained"), "gradual": _l("Increase activity gradually"),
              "fall_prevention": _l("Fall prevention"), "breathing": _l("Breathing exercises")},
    "daily_living": {"regular_rest": _l("Regular rest and sleep"), "no_smoking_alcohol": _l("No smoking, limit alcohol"),
                     "wound_care": _l("Wound care"), "avoid_heavy_work": _l("Avoid heavy work")},
    "diet": {"low_salt_fat": _l("Low salt, low fat"), "diabetic": _l("Control total calories and sugar"),
             "light": _l("Light, easily digested food"), "fluids": _l("Drink enough water")},
    "self_care": {"monitor_bp": _l("Monitor blood pressure"), "monitor_glucose": _l("Monitor blood glucose"),
                  "warning_signs": _l("Recognise warning signs, seek care at once"),
                  "clinic_visit": _l("Keep the clinic appointment")},
}
assert set(GUIDANCE_CHOICES) == set(GUIDANCE_AREAS) == set(GUIDANCE_LABELS)

SATISFACTION_LABELS = {
    "overall": _l("Overall"), "doctors": _l("Doctors"), "nurses": _l("Nurses"),
    "environment": _l("Environment"), "cost": _l("Cost transparency"), "process": _l("Process"),
}
assert set(SATISFACTION_LABELS) == set(SATISFACTION_DIMENSIONS)
SCORE_LABELS = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Neutral"), 2: _l("Dissatisfied"),
                1: _l("Very dissatisfied")}

SENTIMENT_LABELS = {Sentiment.SUGGESTION: _l("Opinion or suggestion"), Sentiment.COMPLAINT: _l("Complaint"),
                    Sentiment.PRAISE: _l("Praise")}
CATEGORY_LABELS = {
    Category.SERVICE_ATTITUDE: _l("Service attitude"), Category.MEDICAL_QUALITY: _l("Medical quality"),
    Category.COMMUNICATION: _l("Communication"), Category.COST: _l("Cost and charges"),
    Category.WAITING_PROCESS: _l("Waiting and process"), Category.ENVIRONMENT: _l("Environment and hygiene"),
    Category.FOOD: _l("Food"), Category.PARKING_ACCESS: _l("Parking and access"), Category.OTHER: _l("Other"),
}

# marshmallow's own messages, listed so the catalogue carries them (errors are shown with _()).
MARSHMALLOW_MESSAGES = (_l("Missing data for required field."), _l("Unknown field."), _l("Not a valid boolean."),
                        _l("Not a valid date."), _l("Not a valid integer."), _l("Not a valid string."),
                        _l("Field may not be null."), _l("Not a valid list."), _l("Invalid input type."))
# Our own form messages (followup_forms.py, scripts.py), shown translated next to each field.
FORM_MESSAGES = (
    _l("A complaint must name the department concerned."), _l("Answer for each discharge medicine."),
    _l("Ask for the overall satisfaction."), _l("Choose a department of this hospital."),
    _l("Choose a score from 1 to 5."), _l("Choose one of the listed values."), _l("Not a valid date and time."),
    _l("Record the guidance given on the call."), _l("Say what the doctor must know."),
    _l("Say whether it is taken as prescribed."), _l("Text is too long."), _l("The next visit cannot be in the past."),
    _l("Tick what was covered or write it down."), _l("Too many opinions."), _l("Write down what the patient said."),
    _l("Write the script (at most 4000 characters)."), _l("Not a valid call duration."),
    _l("Say how the family member is related to the patient."),
    _l("Unknown placeholder. Use {patient_name}, {discharge_date}, {department} or {doctor}."),
)
