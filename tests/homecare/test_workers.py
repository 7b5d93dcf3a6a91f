"""Who may add a worker account: one rule (services.create_worker, on
eldercare.accounts.services), the same through the page and the API — the bureau for any
provider, a provider's admin for its own, nobody else."""

from __future__ import annotations

import pytest

from eldercare.errors import Forbidden
from homecare import services
from tests import factories as f


def _page_add(client, user, provider_id: int, username: str):
    f.login(client, user)
    url = f"/homecare/workers?provider_id={provider_id}"
    return client.post(url, data={"csrf_token": f.csrf(client, url), "username": username})


def _api_add(client, user, provider_id: int, username: str):
    return client.post(
        f"/api/v1/homecare/providers/{provider_id}/workers",
        json={"username": username},
        headers=f.headers(user),
    )


def test_the_bureau_adds_a_worker_through_the_page_and_the_api_alike(client, world, admin):
    page = _page_add(client, admin, world.other.id, "yihe_w1")
    api = _api_add(client, admin, world.other.id, "yihe_w2")
    assert page.status_code == 200 and 'data-testid="password"' in page.text
    assert api.status_code == 201 and api.json["provider_id"] == world.other.id
    names = [u.username for u in services.workers(world.other.id)]
    assert names == ["yihe_w1", "yihe_w2"]


def test_an_auditor_and_another_providers_admin_add_none_either_way(client, world):
    auditor = f.user("auditor")
    assert _api_add(client, auditor, world.provider.id, "a_w1").status_code == 403
    assert _page_add(client, auditor, world.provider.id, "a_w2").status_code == 422
    stranger = f.user("provider", provider_id=world.other.id)
    assert _api_add(client, stranger, world.provider.id, "s_w1").status_code == 404
    assert [u.username for u in services.workers(world.provider.id)] == ["kangle_w1"]
    with pytest.raises(Forbidden):  # the rule itself, under both
        services.create_worker(stranger, world.provider, "s_w2")
