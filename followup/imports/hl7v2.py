"""HL7 v2 ADT^A03 (discharge) messages → discharge records, and the ACK (AA/AE/AR) for each.

Where the fields are (v2.5 positions; the Chinese HIS profiles agree on these):
PID-3 identifiers (the repetition typed NNCHN/ID/RIC is the resident ID), PID-5 name
(family^given, joined without a space), PID-7 birth date, PID-8 sex, PID-13/14 phones (repeats),
PV1-3.4 ward (facility part of the location; PV1-3.1 when empty), PV1-7 attending doctor,
PV1-19 visit number = 住院号, PV1-36 discharge disposition (离院方式), PV1-44 admitted,
PV1-45 discharged, DG1-3 diagnosis code^name. Bytes are decoded by the caller's ladder
(UTF-8, then GB18030) before parsing, because the hl7 package expects text."""
import hl7

from .errors import N_, FileError, Reason

ID_TYPE_CODES = {"NNCHN", "ID", "RIC", "NI"}
SEX = {"M": "1", "F": "2", "U": "0", "O": "9"}


def split_messages(text: str) -> list[str]:
    """One message or many (MLLP frames, a batch file, or messages back to back)."""
    text = text.replace("\x0b", "").replace("\x1c", "").replace("\r\n", "\r").replace("\n", "\r")
    if not text.strip():
        raise FileError(N_("no HL7 messages in the request"))
    try:
        return [str(m) for m in hl7.split_file(text)] if text.lstrip().startswith(("FHS", "BHS")) \
            else ["MSH|" + part.strip("\r") for part in text.split("MSH|") if part.strip("\r ")]
    except hl7.HL7Exception as exc:
        raise FileError(N_("not an HL7 v2 batch: %(detail)s"), detail=str(exc)[:200]) from None


MAX_SEGMENT = 1 << 20       # characters in one segment
MAX_MESSAGE = 4 << 20       # characters in one message
_ENVELOPE = ("FHS|", "BHS|", "BTS|", "FTS|")
SEGMENT_TOO_LONG = N_("message %(n)s has a segment longer than %(limit)s characters")
MESSAGE_TOO_LONG = N_("message %(n)s is longer than %(limit)s characters")


def iter_messages(text_stream):
    """Messages one at a time from a text stream (MLLP frames, a batch file with FHS/BHS
    envelopes, or messages back to back); each with its segments joined by CR. Bounded: a
    segment or a message over its limit is a FileError, never read whole into memory."""
    segments, size, n = [], 0, 0
    while True:
        line = text_stream.readline(MAX_SEGMENT + 2)
        if not line:
            break
        if len(line) > MAX_SEGMENT and not line.endswith(("\r", "\n")):
            raise FileError(SEGMENT_TOO_LONG, n=n + 1, limit=MAX_SEGMENT)
        segment = line.replace("\x0b", "").replace("\x1c", "").strip("\r\n")
        if not segment.strip() or segment.startswith(_ENVELOPE):
            continue
        if segment.startswith("MSH|") and segments:
            n += 1
            yield "\r".join(segments) + "\r"
            segments, size = [], 0
        segments.append(segment)
        size += len(segment) + 1
        if size > MAX_MESSAGE:
            raise FileError(MESSAGE_TOO_LONG, n=n + 1, limit=MAX_MESSAGE)
    if segments:
        yield "\r".join(segments) + "\r"


def _field(seg, n) -> str:
    try:
        return str(seg[n]).strip()
    except IndexError:
        return ""


def _component(seg, n, comp, rep=0) -> str:
    try:
        value = seg[n][rep]
        if isinstance(value, str):  # a field without components is a plain string
            return value.strip() if comp == 1 else ""
        return str(value[comp - 1]).strip()
    except (IndexError, TypeError):
        return ""


def parse_message(text: str) -> tuple[hl7.Message, dict]:
    """One ADT^A03 → (the parsed message, {field: raw text}). ValueError = cannot be accepted (AR)."""
    try:
        return _parse_message(text)
    except ValueError:
        raise
    except Exception as exc:  # the hl7 package raises several kinds for malformed text
        raise ValueError(Reason(N_("not an HL7 v2 message (%(detail)s)"), detail=type(exc).__name__)) from None


def _parse_message(text: str) -> tuple[hl7.Message, dict]:
    msg = hl7.parse(text)
    msh = msg.segment("MSH")
    kind = f"{_component(msh, 9, 1)}^{_component(msh, 9, 2)}"
    if kind != "ADT^A03":
        raise ValueError(Reason(N_("message type %(kind)s is not ADT^A03 (discharge)"), kind=kind))
    try:
        pid, pv1 = msg.segment("PID"), msg.segment("PV1")
    except KeyError as exc:
        raise ValueError(Reason(N_("segment %(segment)s missing"), segment=exc.args[0])) from None
    id_number = ""
    for i in range(len(pid[3]) if len(pid) > 3 else 0):
        if _component(pid, 3, 5, i).upper() in ID_TYPE_CODES:
            id_number = _component(pid, 3, 1, i)
    # XTN repetitions: the number is component 1 (or 12, "unformatted", in newer profiles).
    phones = [_component(pid, n, 1, i) or _component(pid, n, 12, i)
              for n in (13, 14) if len(pid) > n and str(pid[n]) for i in range(len(pid[n]))]
    try:
        dg1 = msg.segment("DG1")
        code, dx = _component(dg1, 3, 1), _component(dg1, 3, 2)
    except KeyError:
        code = dx = ""
    ward = _component(pv1, 3, 4) or _component(pv1, 3, 1)
    record = {
        "inpatient_no": _field(pv1, 19) or _component(pid, 3, 1),
        "name": _component(pid, 5, 1) + _component(pid, 5, 2),
        "sex": SEX.get(_field(pid, 8).upper(), _field(pid, 8)),
        "birth_date": _ts(_field(pid, 7)),
        "id_number": id_number,
        "phone": ",".join(p.strip() for p in phones if p.strip()),
        "admission_date": _ts(_field(pv1, 44)),
        "discharge_at": _ts(_field(pv1, 45)),
        "ward": ward,
        "diagnosis_code": code,
        "diagnosis_name": dx,
        "disposition": _component(pv1, 36, 1),
        "attending_doctor": _component(pv1, 7, 2) + _component(pv1, 7, 3),
    }
    return msg, record


def _ts(value: str) -> str:
    """HL7 TS (YYYYMMDD[HHMM[SS]][+ZZZZ]) → text our date parser reads."""
    digits = value.split("^")[0]
    if len(digits) < 8:
        return digits
    out = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"
    clock = digits[8:].split("+")[0].split("-")[0].split(".")[0]
    if len(clock) >= 4:
        out += f" {clock[:2]}:{clock[2:4]}" + (f":{clock[4:6]}" if len(clock) >= 6 else "")
    zone = digits[8:][len(clock):]
    if zone[:1] in "+-" and len(zone) >= 5:
        out += f"{zone[:3]}:{zone[3:5]}"
    return out


def commit_acks(data: bytes, encoding: str) -> list[str]:
    """One commit ACK (CA: received and stored; enhanced acknowledgement mode) per message, built
    from its MSH segment only: the messages are parsed and validated by the import job, whose
    verdicts are the batch's rejected rows. FileError when there is no message at all."""
    import io
    acks = [ack(message.split("\r", 1)[0], "CA")
            for message in iter_messages(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""))]
    if not acks:
        raise FileError(N_("no HL7 messages in the request"))
    return acks


def ack(message_text: str, code: str, text: str = "", control_id: str | None = None) -> str:
    """An ACK for one message: AA accepted, AE rejected by validation, AR not processable; CA
    (commit accept) received and stored, to be processed."""
    try:
        msg = hl7.parse(message_text)
        out = msg.create_ack(code, message_id=control_id)
        body = str(out)
        if text:
            body += "|" + msg.escape(text[:200])
        return body
    except Exception:  # unparseable input: answer with a minimal ACK of our own
        return ("MSH|^~\\&|FOLLOWUP||||||ACK|" + (control_id or "ACK") + "|P|2.5\r"
                f"MSA|{code}||" + text[:200].replace("|", " ").replace("^", " "))
