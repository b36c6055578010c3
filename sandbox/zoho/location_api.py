"""The Zoho Inventory sandbox's locations list (docs/platforms.md section 6).

`GET /inventory/v1/locations`: the organization's warehouses (`location_id`,
`location_name`, `type`, `parent_location_id`, `is_primary`, `status`), the ids a site's
`erp_location_ids` names. Zoho's answer is not paged as far as its reference shows; nor
is this one. Token, organization, faults and rate limits apply as to every call.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sandbox.zoho.stock import LOCATIONS

blueprint = Blueprint("zoho_locations", __name__, url_prefix="/inventory/v1")


@blueprint.get("/locations")
def list_locations() -> Response:
    return jsonify(code=0, message="success", locations=[dict(place) for place in LOCATIONS])
