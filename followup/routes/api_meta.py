"""API housekeeping: who am I."""
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from .api_base import api_login_required

blp = Blueprint("api_meta", __name__, url_prefix="/api/v1", description="Session")


class MeSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    hospital_id = fields.Int(allow_none=True)
    region_id = fields.Int(allow_none=True)
    ward_ids = fields.List(fields.Int())


@blp.route("/me")
@blp.response(200, MeSchema)
@api_login_required()
def me():
    """The signed-in user and their scope."""
    return current_user
