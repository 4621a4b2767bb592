"""billing.client_access, driven directly: who may act for which client, in what order the
switcher lists them, and what granting and removing access write (the portal's side is in
tests/test_client_switch.py)."""
import pytest

import models
from billing import DomainError, client_access
from tests import factories
from tests.core_support import QueryCounter, snapshot

PAT = "pat@both.example"


@pytest.fixture
def world(db):
    """Pat, a contact of Home; Zeta, Beta and Alpha are other clients; Quinn, another person
    of another client, who also acts for some of them."""
    factories.company()
    home = factories.client(name="Home Ltd")
    zeta, beta, alpha = (factories.client(name=name) for name in ("Zeta", "Beta", "Alpha"))
    pat = factories.contact(home, email=PAT, first_name="Pat", last_name="Lee")
    quinn = factories.contact(factories.client(name="Quinn's own"), email="quinn@q.example")
    staff = factories.staff("boss@studio.example")
    return {"home": home, "zeta": zeta, "beta": beta, "alpha": alpha, "pat": pat,
            "quinn": quinn, "staff": staff}


def reload(contact):
    return models.Contact.get_by_id(contact.id)


def logged(action):
    return list(models.Activity.select().where(models.Activity.action == action)
                .order_by(models.Activity.id))


def refusal(call):
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.message, caught.value.field


def test_granting_counts_only_that_persons_accesses_and_logs_who_gave_it(world):
    pat, quinn, staff = world["pat"], world["quinn"], world["staff"]
    client_access.grant(world["beta"], "quinn@q.example")
    access = client_access.grant(world["zeta"], " PAT@both.example ", staff=staff)
    assert (access.contact_id, access.client_id) == (pat.id, world["zeta"].id)
    client_access.grant(world["alpha"], PAT)
    # Pat's own client and the two others; Quinn's count is Quinn's alone.
    assert reload(pat).other_clients == 2 and reload(quinn).other_clients == 1
    first = [entry for entry in logged("contact.access_granted") if entry.subject_id == pat.id]
    assert [(e.subject_type, e.client_id, e.staff_id, e.detail, e.actor) for e in first] == [
        ("contact", world["zeta"].id, staff.id, PAT, "staff"),
        ("contact", world["alpha"].id, None, PAT, "system")]


@pytest.mark.parametrize("address, message", [
    ("nobody@nowhere.example", "No contact logs in with nobody@nowhere.example: add them as "
                               "a new contact instead."),
    ("not-an-address", None),
    ("", "Enter an e-mail address."),
    (PAT.upper(), None),
])
def test_a_refused_grant_names_the_email_field_and_changes_nothing(world, address, message):
    target = world["home"] if address == PAT.upper() else world["zeta"]
    before = snapshot()
    text, field = refusal(lambda: client_access.grant(target, address))
    assert field == "email"
    if message:
        assert text == message
    if address == PAT.upper():
        assert text == f"{PAT} is already a contact of this client."
    assert snapshot() == before


def test_access_to_an_archived_client_or_a_second_time_is_refused(world):
    client_access.grant(world["zeta"], PAT)
    assert refusal(lambda: client_access.grant(world["zeta"], PAT)) == (
        f"{PAT} already has access to this client.", "email")
    world["beta"].archived_at = models.utcnow()
    world["beta"].save()
    assert refusal(lambda: client_access.grant(world["beta"], PAT)) == (
        "This client is archived: unarchive it first.", "email")
    assert reload(world["pat"]).other_clients == 1


def test_the_switcher_lists_the_own_client_first_then_the_others_by_name(world):
    pat = world["pat"]
    for name in ("zeta", "alpha", "beta"):
        client_access.grant(world[name], PAT)
    twin = factories.client(name="Alpha")  # same name as another: the older row first
    client_access.grant(twin, PAT)
    client_access.grant(factories.client(name="Aardvark"), "quinn@q.example")
    # The older twin archived and back after the younger was made: PostgreSQL then stores
    # it last, and only the id keeps it first.
    factories.moved(world["alpha"], archived_at=models.utcnow())
    factories.moved(world["alpha"], archived_at=None)
    listed = client_access.clients_of(reload(pat))
    assert [c.id for c in listed] == [world["home"].id, world["alpha"].id, twin.id,
                                      world["beta"].id, world["zeta"].id]
    # An archived client is nobody's to act for, the own one included.
    world["home"].archived_at = world["beta"].archived_at = models.utcnow()
    world["home"].save()
    world["beta"].save()
    assert [c.name for c in client_access.clients_of(reload(pat))] == ["Alpha", "Alpha",
                                                                        "Zeta"]


def test_acting_for_a_client_needs_its_row_id_as_a_number_and_live_access(world):
    pat = reload(world["pat"])
    beta = world["beta"]
    client_access.grant(beta, PAT)
    client_access.grant(world["zeta"], "quinn@q.example")
    assert client_access.acting_client(pat, beta.id) == beta
    # The id as text (from a cookie or a form) is not an id; the own client is not "acting".
    assert client_access.acting_client(pat, str(beta.id)) is None
    assert client_access.acting_client(pat, world["home"].id) is None
    # Somebody else's access is not Pat's.
    assert client_access.acting_client(pat, world["zeta"].id) is None
    beta.archived_at = models.utcnow()
    beta.save()
    assert client_access.acting_client(pat, beta.id) is None


def test_find_for_matches_a_public_id_among_the_persons_clients_only(world):
    pat = reload(world["pat"])
    client_access.grant(world["beta"], PAT)
    assert client_access.find_for(pat, f"  {world['beta'].public_id} ") == world["beta"]
    assert client_access.find_for(pat, world["home"].public_id) == world["home"]
    assert client_access.find_for(pat, world["zeta"].public_id) is None
    assert client_access.find_for(pat, None) is None


def test_those_with_access_are_listed_by_first_then_last_name(world):
    zeta = world["zeta"]
    people = [factories.contact(factories.client(), first_name=first, last_name=last,
                                email=f"{first}.{last}.{n}@x.example".lower())
              for n, (first, last) in enumerate([("Bea", "Young"), ("Ann", "Zorn"),
                                                 ("Bea", "Adams"), ("Ann", "Zorn")])]
    # Granted newest first, so the rows' own order is not the answer.
    for person in reversed(people):
        client_access.grant(zeta, person.email)
    with QueryCounter() as counter:
        listed = client_access.with_access(zeta)
        # Each with their own client (the page names it), read in the same query.
        own = [p.client.name for p in listed]
    assert len(counter.statements) == 1
    assert [p.id for p in listed] == [people[1].id, people[3].id, people[2].id, people[0].id]
    assert own == [people[i].client.name for i in (1, 3, 2, 0)]


def test_removing_access_takes_only_that_one_and_logs_it(world):
    pat, quinn, staff, zeta = world["pat"], world["quinn"], world["staff"], world["zeta"]
    client_access.grant(world["beta"], PAT)
    client_access.grant(zeta, PAT)
    client_access.grant(zeta, "quinn@q.example")
    removed = client_access.revoke(zeta, pat.id, staff=staff)
    assert removed.id == pat.id
    remaining = {(a.contact_id, a.client_id) for a in models.ClientAccess.select()}
    assert remaining == {(pat.id, world["beta"].id), (quinn.id, zeta.id)}
    assert reload(pat).other_clients == 1 and reload(quinn).other_clients == 1
    entry, = logged("contact.access_removed")
    assert (entry.subject_type, entry.subject_id, entry.client_id, entry.staff_id,
            entry.detail) == ("contact", pat.id, zeta.id, staff.id, PAT)
    # No access (any more): nothing to remove, nothing logged.
    assert client_access.revoke(zeta, pat.id) is None
    assert client_access.revoke(world["alpha"], quinn.id) is None
    assert len(logged("contact.access_removed")) == 1
