"""eldercare/scoping.py: who may see which person, deny by default. The bureau and the
auditors see everyone; every other role only the people a feature puts in its scope, and
nobody when none does; a person outside is NotFound exactly like one who does not exist."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from eldercare import scoping
from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role
from tests import factories


def _visible(user) -> set[int]:
    return {p.id for p in db.session.scalars(scoping.people(user))}


def test_the_bureau_and_auditors_see_everyone(db):
    a, b = factories.person("王德福"), factories.person("李秀英")
    for role in ("admin", "auditor"):
        assert _visible(factories.user(role)) >= {a.id, b.id}


def test_other_roles_see_only_their_features_scope(client, db):
    from facilities import services as fs
    from tests.facilities.conftest import make_home

    home, beds = make_home()
    resident, stranger = factories.person("王德福"), factories.person("李秀英")
    fs.admit(resident, beds[0], date(2024, 1, 1))
    db.session.commit()
    manager = factories.user("manager", facility_id=home.id)
    assert _visible(manager) == {resident.id}
    assert scoping.get_person(manager, resident.id).id == resident.id
    for missing in (stranger.id, 987_654):
        with pytest.raises(NotFound) as caught:
            scoping.get_person(manager, missing)
        assert caught.value.message == "未找到该人员"


def test_a_role_no_feature_scopes_sees_nobody(client, db):
    factories.person("王德福")
    provider = factories.scoped_user(client, "provider")  # enrols nobody yet
    assert _visible(provider) == set()
    assert db.session.query(Person).count() == 1


def test_full_id_numbers_and_health_notes_go_only_to_the_roles_that_need_them():
    seen = {
        role.value: (
            scoping.sees_full_id(SimpleNamespace(role=role)),
            scoping.sees_health(SimpleNamespace(role=role)),
        )
        for role in Role
    }
    assert seen == {
        "admin": (True, True),
        "auditor": (True, False),
        "manager": (True, True),
        "provider": (False, False),
        "worker": (False, False),
        "township": (False, False),
    }
